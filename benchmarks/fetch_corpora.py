"""Fetch the real projects the graph and speed benchmarks run on, and the oracles (dependency-cruiser,
scip-python, scip-typescript), into benchmarks/.data/ (gitignored). Python projects come from PyPI as
wheels (their published sources), JavaScript/TypeScript ones from the npm registry with `npm pack`.

    python benchmarks/fetch_corpora.py            # everything, skipping what is already there
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"
PROJECTS = DATA / "projects"
TOOLS = DATA / "tools"

# name -> (registry, package spec, the folder inside the archive that holds the sources)
PYTHON_PROJECTS = {
    "rich": "rich==13.9.4",
    "httpx": "httpx==0.28.1",
    "click": "click==8.1.8",
    "flask": "flask==3.1.0",
    "jinja2": "jinja2==3.1.5",
    "attrs": "attrs==24.3.0",
}
NPM_PROJECTS = {
    "query-core": "@tanstack/query-core@5.62.0",
    "react-query": "@tanstack/react-query@5.62.0",
    "zod": "zod@3.25.76",
    "trpc-server": "@trpc/server@11.0.0",
    "axios": "axios@1.7.9",
}
DEPENDENCY_CRUISER = "dependency-cruiser@16.8.0"
ORACLES = (
    DEPENDENCY_CRUISER,
    "typescript@5.7.2",
    "@sourcegraph/scip-python@0.6.6",
    "@sourcegraph/scip-typescript@0.4.0",
)


def run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def fetch_python(name: str, spec: str) -> None:
    target = PROJECTS / name
    if target.exists():
        return
    download = DATA / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(download), spec],
        DATA,
    )
    wheel = next(p for p in download.glob("*.whl") if p.name.lower().startswith(name.replace("-", "_").lower()))
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.endswith(".py") and ".dist-info/" not in m]
        archive.extractall(target, members)
    print(f"{name}: {len(members)} Python files")


def fetch_npm(name: str, spec: str) -> None:
    target = PROJECTS / name
    if target.exists():
        return
    download = DATA / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    packed = json.loads(run(["npm", "pack", "--json", spec, "--pack-destination", str(download)], DATA))
    archive_path = download / packed[0]["filename"]
    with tarfile.open(archive_path) as archive:
        archive.extractall(target, filter="data")
    package = target / "package"
    for item in package.iterdir():
        shutil.move(str(item), target / item.name)
    package.rmdir()
    print(f"{name}: {sum(1 for _ in target.rglob('*.*s*'))} files")


def fetch_oracles() -> Path:
    binaries = TOOLS / "node_modules" / ".bin"
    if not all((binaries / name).exists() for name in ("depcruise", "scip-python", "scip-typescript")):
        TOOLS.mkdir(parents=True, exist_ok=True)
        (TOOLS / "package.json").write_text('{"private": true}\n')
        run(["npm", "install", "--no-audit", "--no-fund", "-s", *ORACLES], TOOLS)
    return binaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    PROJECTS.mkdir(parents=True, exist_ok=True)
    for name, spec in PYTHON_PROJECTS.items():
        fetch_python(name, spec)
    for name, spec in NPM_PROJECTS.items():
        fetch_npm(name, spec)
    print(f"dependency-cruiser, scip-python, scip-typescript: {fetch_oracles()}")


if __name__ == "__main__":
    main()

"""Compile a generated TypeScript project with the `typescript` npm package, in the sandbox.

The compiler comes from MGE's own `node_modules` (installed by `make setup` from package.json at the
repository root, or the folder named by $MGE_NODE_MODULES); the sandbox may read it, and only it,
besides the system paths. tsc emits JavaScript even for code with type errors; the errors are reported
per file, so a caller can refuse what does not type-check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mge_assets.errors import MgeError
from mge_assets.node.testing import NODE
from mge_assets.sandbox import SandboxResult, run_in_sandbox

OUT_DIR = "dist"
_ERROR = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<column>\d+)\): error (?P<message>.*)$", re.M)


@dataclass(frozen=True)
class TypeScriptBuild:
    """What tsc emitted (path → JavaScript) and its errors per source file."""

    emitted: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    log: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def node_modules() -> Path:
    configured = os.environ.get("MGE_NODE_MODULES")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "node_modules"


def typescript_paths() -> tuple[Path, Path]:
    """The compiler's entry point and the type roots (@types/node), or a clear error."""
    root = node_modules()
    tsc = root / "typescript" / "bin" / "tsc"
    if not tsc.is_file():
        raise MgeError(
            f"the TypeScript compiler is not installed ({tsc} is missing): run `make setup` (npm ci at the "
            "repository root), or set MGE_NODE_MODULES to a node_modules folder holding typescript and @types/node"
        )
    return tsc, root / "@types"


def compiled_path(source: str) -> str:
    """Where tsc writes a source file: `src/app.ts` → `dist/src/app.js`."""
    return f"{OUT_DIR}/{source.removesuffix('.ts')}.js"


def compile_project(
    project: Path, sources: list[str], runner: Callable[..., SandboxResult] = run_in_sandbox, timeout_s: float = 180.0
) -> TypeScriptBuild:
    """tsc -p tsconfig.json on `project` in the sandbox; the emitted JavaScript of `sources` read back."""
    tsc, types = typescript_paths()
    command = [NODE, str(tsc), "-p", "tsconfig.json", "--typeRoots", str(types), "--pretty", "false"]
    outputs = tuple(compiled_path(s) for s in sources if s.endswith(".ts"))
    run = runner(command, project, timeout_s=timeout_s, collect=outputs, read_only=(str(tsc.parents[1]), str(types)))
    errors: dict[str, list[str]] = {}
    for match in _ERROR.finditer(run.stdout):
        errors.setdefault(match["file"], []).append(f"line {match['line']}: {match['message']}")
    missing = [o for o in outputs if o not in run.files]
    if missing and not errors:
        reason = "timed out" if run.timed_out else f"exit {run.returncode}"
        errors["tsconfig.json"] = [f"tsc emitted nothing for {len(missing)} files ({reason}): {run.stderr[-400:]}"]
    emitted = {path: data.decode("utf-8", errors="replace") for path, data in run.files.items()}
    return TypeScriptBuild(emitted=emitted, errors=errors, log=(run.stdout + run.stderr)[-3000:])

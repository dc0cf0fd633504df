"""The sandbox: generated code runs in its own copy, without secrets, and not past its timeout."""

import sys
import time
import uuid
from pathlib import Path

import pytest

from mge_assets.sandbox import Limits, run_in_sandbox
from mge_assets_tests.sandbox.hostile import processes_with


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "data.txt").write_text("original\n")
    return root


def test_the_host_environment_and_its_secrets_are_not_passed(project: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("MGE_REDIS_URL", "redis://user:pw@host/0")
    result = run_in_sandbox([sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"], project)
    assert result.ok
    assert "sk-secret" not in result.stdout and "MGE_REDIS_URL" not in result.stdout
    assert "ANTHROPIC_API_KEY" not in result.stdout


def test_the_code_works_on_a_copy_and_leaves_the_project_untouched(project: Path) -> None:
    code = "open('data.txt', 'w').write('changed'); open('new.txt', 'w').write('x')"
    result = run_in_sandbox([sys.executable, "-c", code], project, collect=("data.txt",))
    assert result.files["data.txt"] == b"changed"
    assert (project / "data.txt").read_text() == "original\n"
    assert not (project / "new.txt").exists()


def test_a_timeout_kills_the_code_and_its_children(project: Path) -> None:
    marker = f"mge-leftover-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])\n"
        "time.sleep(60)\n"
    )
    started = time.perf_counter()
    result = run_in_sandbox([sys.executable, "-c", code], project, timeout_s=3)
    assert result.timed_out and not result.ok
    assert time.perf_counter() - started < 20
    assert not processes_with(marker)


def test_resource_limits_apply_in_the_child(project: Path) -> None:
    code = "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_FSIZE)[0])"
    result = run_in_sandbox(
        [sys.executable, "-c", code], project, limits=Limits(memory_bytes=1 << 30, file_size_bytes=1 << 20)
    )
    assert result.stdout.split() == [str(1 << 30), str(1 << 20)]


def test_a_flood_of_output_is_capped(project: Path) -> None:
    code = "import sys\nfor _ in range(10**6): sys.stdout.write('x' * 1000)"
    result = run_in_sandbox([sys.executable, "-c", code], project, limits=Limits(file_size_bytes=4 << 20), timeout_s=60)
    assert not result.ok
    assert len(result.stdout) <= 64 * 1024

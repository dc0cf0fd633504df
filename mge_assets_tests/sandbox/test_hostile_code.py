"""Hostile generated code in the sandbox: each attack is contained, reported, and leaves the host alone."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from mge_assets.sandbox import Limits, run_in_sandbox
from mge_assets.sandbox.runner import OUTPUT_KEPT
from mge_assets_tests.sandbox.hostile import processes_with


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("VALUE = 1\n")
    return root


def run(code: str, project: Path, **kwargs) -> object:
    return run_in_sandbox([sys.executable, "-c", code], project, **kwargs)


def test_the_host_environment_is_not_readable(project: Path, monkeypatch) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret",
        "MGE_PG_PASSWORD": "pg-secret",
        "MGE_DATABASE_URL": "postgresql://u:db-secret@h/db",
        "MGE_REDIS_URL": "redis://:redis-secret@h/0",
        "REDIS_URL": "redis://:redis-secret2@h/0",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    code = (
        "import os, sys\n"
        "print(sorted(os.environ.items()))\n"
        "print('home', os.listdir(os.environ['HOME']))\n"
        "for pid in sys.argv[1:]:\n"
        "    try:\n"
        "        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except OSError as error:\n"
        "        print('denied', pid, type(error).__name__)\n"
    )
    result = run_in_sandbox([sys.executable, "-c", code, str(os.getpid()), "1"], project)
    assert result.ok, result.stderr
    for value in secrets.values():
        assert value not in result.stdout
    assert "home []" in result.stdout
    assert f"denied {os.getpid()}" in result.stdout and "denied 1" in result.stdout


def test_files_outside_its_folder_cannot_be_read(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host-secret")
    code = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        print('read', path, open(path).read()[:20])\n"
        "    except OSError as error:\n"
        "        print('denied', path, type(error).__name__)\n"
    )
    targets = [str(secret), __file__, "/etc/shadow", os.path.expanduser("~/.bashrc")]
    result = run_in_sandbox([sys.executable, "-c", code, *targets], project)
    assert "host-secret" not in result.stdout
    for target in targets[:3]:
        assert f"denied {target}" in result.stdout, result.stdout
    own = run("print(open('app.py').read())", project)
    assert own.stdout.strip() == "VALUE = 1"


def test_nothing_can_be_written_outside_its_folder(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "written.txt"
    code = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').write('pwned')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print('denied', path, type(error).__name__)\n"
    )
    targets = [str(outside), str(project / "app.py"), "/tmp/mge-pwned.txt"]
    result = run_in_sandbox([sys.executable, "-c", code, *targets], project)
    assert not outside.exists() and not Path("/tmp/mge-pwned.txt").exists()
    assert (project / "app.py").read_text() == "VALUE = 1\n"
    assert "wrote" not in result.stdout, result.stdout


def test_a_fork_bomb_is_contained(project: Path) -> None:
    marker = f"mge-bomb-{uuid.uuid4().hex}"
    code = "import os, sys\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    started = time.perf_counter()
    result = run_in_sandbox([sys.executable, "-c", code, marker], project, timeout_s=5, limits=Limits(processes=64))
    assert result.timed_out or not result.ok
    assert time.perf_counter() - started < 30
    assert not processes_with(marker)
    assert subprocess.run([sys.executable, "-c", "print('host ok')"], capture_output=True).returncode == 0


def test_an_infinite_loop_is_stopped_at_its_timeout(project: Path) -> None:
    started = time.perf_counter()
    result = run("while True: pass", project, timeout_s=2)
    assert result.timed_out and not result.ok
    assert time.perf_counter() - started < 10


def test_gigabytes_of_output_are_cut_off(project: Path) -> None:
    code = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(4096): sys.stdout.write(chunk)"
    started = time.perf_counter()
    result = run(code, project, timeout_s=60, limits=Limits(file_size_bytes=8 << 20))
    assert not result.ok and result.output_truncated
    assert len(result.stdout) <= OUTPUT_KEPT
    assert time.perf_counter() - started < 30


def test_a_memory_hog_fails_inside_the_sandbox(project: Path) -> None:
    result = run("b = bytearray(8 << 30)", project, limits=Limits(memory_bytes=1 << 30))
    assert not result.ok and "MemoryError" in result.stderr


def test_no_child_is_left_behind_even_in_a_new_session(project: Path) -> None:
    marker = f"mge-orphan-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'], start_new_session=True)\n"
        "print('started')\n"
    )
    result = run(code, project)
    assert result.ok and "started" in result.stdout
    time.sleep(0.2)
    assert not processes_with(marker)


def test_no_network_connection_leaves_the_sandbox(project: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    port = server.getsockname()[1]
    code = (
        "import socket, sys\n"
        "for host in ('127.0.0.1', '1.1.1.1'):\n"
        "    try:\n"
        "        socket.create_connection((host, int(sys.argv[1])), timeout=2)\n"
        "        print('connected', host)\n"
        "    except OSError as error:\n"
        "        print('refused', host, type(error).__name__)\n"
    )
    result = run_in_sandbox([sys.executable, "-c", code, str(port)], project)
    server.close()
    if not result.isolation.get("network", "").startswith("isolated"):
        pytest.skip(f"this kernel does not let the sandbox cut the network: {result.isolation.get('network')}")
    assert "connected" not in result.stdout, result.stdout
    assert not accepted


def test_the_run_reports_what_isolation_held(project: Path) -> None:
    result = run("pass", project)
    assert set(result.isolation) >= {"network", "filesystem", "processes", "pid_namespace"}

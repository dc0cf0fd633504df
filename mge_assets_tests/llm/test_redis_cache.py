"""The response cache on a real Redis of the test's own (started, stopped and started again here): two
processes share an entry, and a Redis that goes down in the middle of a run costs a warning, not the run."""

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge_assets.llm import ModelClient, ModelRequest
from mge_assets.llm.cache import open_cache
from mge_assets.llm.offline import OfflineBackend
from mge_assets.llm.prompts import atom_request
from mge_assets.plan import discover
from mge_assets.request import parse_request
from mge_assets_tests.conftest import example_path, require_tool


class OwnRedis:
    """A redis-server on a free port, nothing saved: stopping it loses every entry, as a crash would."""

    def __init__(self, directory: Path) -> None:
        self.binary = require_tool("redis-server")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*command, "--dir", str(self.directory)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the test's redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _requests(count: int) -> list[ModelRequest]:
    discovery = discover(parse_request(example_path("task_api").read_text()))
    atom = {"id": "m.py::f", "file": "m.py", "kind": "function", "symbol": "f", "language": "python"}
    return [atom_request(discovery, atom | {"code": f"def f():\n    return {i}\n"}, [], f"t{i}") for i in range(count)]


ASK_IN_ANOTHER_PROCESS = """
import asyncio, sys
from mge_assets.llm import ModelClient
from mge_assets.llm.cache import open_cache
from mge_assets.llm.offline import OfflineBackend
from mge_assets_tests.llm.test_redis_cache import _requests
client = ModelClient(OfflineBackend(), cache=open_cache(sys.argv[1], __import__("pathlib").Path(sys.argv[2])))
asyncio.run(client.complete(_requests(1)[0]))
print("cached" if client.records[0].cached else "asked")
"""


def test_an_entry_written_by_one_process_is_read_by_another(own_redis: OwnRedis, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    answers = [
        subprocess.run(
            [sys.executable, "-c", ASK_IN_ANOTHER_PROCESS, own_redis.url, str(tmp_path / f"disk-{worker}")],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for worker in ("first", "second")
    ]
    assert answers == ["asked", "cached"]
    assert not list(tmp_path.rglob("*.json"))  # each disk cache is its own: the entry came from Redis


def test_redis_stopped_mid_run_costs_a_warning_and_started_again_serves_the_next_run(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    first, second, third = _requests(3)
    cache = open_cache(own_redis.url, tmp_path / "disk")
    run = ModelClient(OfflineBackend(), cache=cache)
    asyncio.run(run.complete(first))
    own_redis.stop()
    asyncio.run(run.complete(second))  # Redis is gone: the run goes on, on the disk
    asyncio.run(run.complete(first))  # Redis's entry is lost: asked again, and kept on disk
    asyncio.run(run.complete(second))  # answered from the disk this time
    assert [r.cached for r in run.records] == [False, False, False, True]
    assert len(cache.warnings) == 1 and "going on with the disk cache" in cache.warnings[0]
    assert run.summary()["cache_errors"] == 1
    own_redis.start()
    next_run = ModelClient(OfflineBackend(), cache=open_cache(own_redis.url, tmp_path / "disk"))
    asyncio.run(next_run.complete(third))
    reread = ModelClient(OfflineBackend(), cache=open_cache(own_redis.url, tmp_path / "other"))
    asyncio.run(reread.complete(third))
    assert reread.records[0].cached  # from Redis: that disk is empty
    assert not next_run.cache.warnings  # type: ignore[union-attr]

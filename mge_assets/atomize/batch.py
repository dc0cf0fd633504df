"""Atomizing the files of a codebase: in worker processes, and from the cache for files not changed.

Files are handed to the workers in chunks of about equal size, several per worker so that one big file
does not leave the others idle at the end; a worker sends back each file's result pickled, which is at
once the cheapest thing to send and the entry the cache stores. Results come back in file order, so
the atoms are the same, in the same order, whatever the number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from mge_assets.atomize import atomize_with_errors
from mge_assets.atomize.cache import AtomCache, FileResult, decode, encode, file_key

_CHUNKS_PER_WORKER = 8


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while a codebase is atomized: atoms hold no cycles, and with it on every
    full collection rescans all atoms made so far, so the cost would grow with the square of the code."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def atomize_tree(
    base: Path, files: list[str], line_budget: int, jobs: int = 1, cache: AtomCache | None = None
) -> list[FileResult]:
    """Each file's atoms and parse errors, in the order of `files` (paths under `base`)."""
    results: list[FileResult | None] = [None] * len(files)
    todo: list[tuple[int, str, bytes]] = []
    keys: dict[int, str] = {}
    for index, path in enumerate(files):
        source = (base / path).read_bytes()
        if cache is not None:
            keys[index] = file_key(path, source, line_budget)
            results[index] = cache.get(keys[index])
        if results[index] is None:
            todo.append((index, path, source))
    if cache is not None:
        cache.close()  # SQLite's advice: no connection open across a fork; the writes open it again
    sources = [(path, source) for _, path, source in todo]
    indices = [index for index, _, _ in todo]
    del todo  # the sources go with the chunks; only the workers need them
    for index, result in zip(indices, _atomize(sources, line_budget, jobs, cache is not None), strict=True):
        if isinstance(result, bytes):
            if cache is not None:
                cache.put(keys[index], result)
            result = decode(result)
        results[index] = result
    if cache is not None:
        cache.close()
    return results  # type: ignore[return-value]  # every index was filled, from the cache or atomized


def _atomize(
    sources: list[tuple[str, bytes]], line_budget: int, jobs: int, cached: bool
) -> Iterator[FileResult | bytes | None]:
    """Each file's result, pickled (and compressed when `cached`) when it is to be cached or comes from
    a worker."""
    if jobs == 1 or len(sources) < 2:
        for path, source in sources:
            result = atomize_with_errors(path, source, line_budget)
            yield encode(result, compress=True) if cached else result
        return
    chunks = _chunks(sources, jobs * _CHUNKS_PER_WORKER)
    with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=_context()) as pool:
        futures = deque(pool.submit(_atomize_chunk, chunk, line_budget, cached) for chunk in chunks)
        while futures:  # a chunk's results are let go as soon as they are read, not kept to the end
            yield from futures.popleft().result()


def _atomize_chunk(chunk: list[tuple[str, bytes]], line_budget: int, compress: bool) -> list[bytes]:
    with paused_gc():
        return [encode(atomize_with_errors(path, source, line_budget), compress) for path, source in chunk]


def _chunks(sources: list[tuple[str, bytes]], count: int) -> list[list[tuple[str, bytes]]]:
    """Consecutive runs of files of about `total bytes / count` each."""
    size = max(1, sum(len(source) for _, source in sources) // count)
    chunks: list[list[tuple[str, bytes]]] = [[]]
    filled = 0
    for item in sources:
        if filled >= size:
            chunks.append([])
            filled = 0
        chunks[-1].append(item)
        filled += len(item[1])
    return chunks


def _context() -> multiprocessing.context.BaseContext:
    """Fork where there is one: a forked worker has the atomizer and its grammars loaded already."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)

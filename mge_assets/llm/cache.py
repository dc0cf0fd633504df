"""The response cache: identical calls are answered once.

Redis when `MGE_REDIS_URL` is set and reachable, otherwise files on disk. A Redis that goes down
mid-run costs a warning and a switch to disk, never a failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import redis

from mge_assets.llm.types import ModelRequest, ModelResponse, Usage

log = logging.getLogger(__name__)


class ResponseCache(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class CacheUnavailableError(Exception):
    """The cache's store could not be reached."""


def cache_key(model: str, request: ModelRequest) -> str:
    """SHA-256 of everything that decides an answer: model, system and prompt (or, when the request
    names it, its `reuse_key`: the inputs the answer depends on), temperature, max tokens."""
    what = [request.kind, request.reuse_key] if request.reuse_key else [request.system, request.prompt]
    material = json.dumps([model, *what, request.temperature, request.max_tokens], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def dump_response(response: ModelResponse) -> str:
    return json.dumps(
        {"text": response.text, "model": response.model, "usage": asdict(response.usage), "batch": response.batch}
    )


def load_response(value: str) -> ModelResponse:
    """A stored answer; entries written before `batch` was stored read as standard calls."""
    data = json.loads(value)
    return ModelResponse(
        text=data["text"],
        model=data["model"],
        usage=Usage(**data["usage"]),
        cached=True,
        batch=bool(data.get("batch", False)),
    )


class DiskCache:
    """One file per key under a directory, expired by age."""

    def __init__(self, directory: Path, ttl_s: float) -> None:
        self.directory = directory
        self.ttl_s = ttl_s

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.ttl_s:
                return None
            return path.read_text()
        except OSError:
            return None

    def set(self, key: str, value: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(value)
        temporary.replace(path)


class RedisCache:
    """Keys `mge:response:<sha256>` with a TTL."""

    def __init__(self, url: str, ttl_s: float) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_s = ttl_s

    def get(self, key: str) -> str | None:
        try:
            value = self.client.get(f"mge:response:{key}")
        except redis.RedisError as error:
            raise CacheUnavailableError(str(error)) from error
        return value.decode() if isinstance(value, bytes) else value

    def set(self, key: str, value: str) -> None:
        try:
            self.client.set(f"mge:response:{key}", value, ex=int(self.ttl_s))
        except redis.RedisError as error:
            raise CacheUnavailableError(str(error)) from error


class FallbackCache:
    """Use `primary` until it fails once, then `fallback` for the rest of the run, with one warning."""

    def __init__(self, primary: ResponseCache, fallback: ResponseCache, describe: str) -> None:
        self.primary: ResponseCache | None = primary
        self.fallback = fallback
        self.describe = describe
        self.warnings: list[str] = []
        self.errors = 0  # failures of the primary: the first one also switches to the fallback

    def _degrade(self, error: Exception) -> None:
        self.errors += 1
        message = f"response cache {self.describe} is unavailable ({error}); going on with the disk cache"
        log.warning(message)
        self.warnings.append(message)
        self.primary = None

    def get(self, key: str) -> str | None:
        if self.primary is not None:
            try:
                return self.primary.get(key)
            except CacheUnavailableError as error:
                self._degrade(error)
        return self.fallback.get(key)

    def set(self, key: str, value: str) -> None:
        if self.primary is not None:
            try:
                self.primary.set(key, value)
                return
            except CacheUnavailableError as error:
                self._degrade(error)
        self.fallback.set(key, value)


def open_cache(redis_url: str | None, disk_directory: Path, ttl_s: float = 7 * 24 * 3600) -> FallbackCache:
    """The cache a run uses: Redis in front of the disk when a URL is given, else the disk alone."""
    disk = DiskCache(disk_directory, ttl_s)
    if not redis_url:
        return FallbackCache(disk, disk, "on disk")
    return FallbackCache(RedisCache(redis_url, ttl_s), disk, f"at {redact(redis_url)}")


def redact(url: str) -> str:
    """A URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"

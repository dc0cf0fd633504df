"""What the host prepares for a sandboxed child: a pids cgroup (when the kernel lets us create one) and
the paths the child may read. The child's side (namespaces, limits, Landlock) is in launcher_script.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import sysconfig
import time
import uuid
from pathlib import Path

CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))

# What a Python process needs from /etc; /etc/shadow and the rest stay unreadable.
ETC_FILES = (
    "ld.so.cache",
    "localtime",
    "timezone",
    "hosts",
    "host.conf",
    "resolv.conf",
    "nsswitch.conf",
    "gai.conf",
    "passwd",
    "group",
    "mime.types",
    "os-release",
    "ssl",
    "ca-certificates",
    "pki",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def read_only_paths() -> list[str]:
    """System libraries and this interpreter's installation (stdlib, site-packages), never /proc or $HOME."""
    interpreter = Path(os.path.realpath(sys.executable)).parent.parent
    paths = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", sys.prefix, sys.base_prefix, str(interpreter)}
    paths |= {p for p in sysconfig.get_paths().values() if p}
    paths |= {f"/etc/{name}" for name in ETC_FILES}
    paths |= set(node_paths())
    return sorted(p for p in paths if os.path.exists(p))


def node_paths() -> list[str]:
    """Node's own installation when it lives outside the system paths (nvm, /opt): its binary's prefix,
    so it can read its binary and the libraries beside it, and nothing else of that tree's neighbours."""
    found = shutil.which("node")
    if not found:
        return []
    prefix = Path(os.path.realpath(found)).parent.parent
    return [] if str(prefix) in ("/", "/usr", "/usr/local") else [str(prefix)]


def create_pids_cgroup(limit: int) -> Path | None:
    """A fresh pids cgroup capped at `limit` tasks, or None when none can be created here."""
    for root in CGROUP_ROOTS:
        if not (root / "cgroup.procs").exists() or not os.access(root, os.W_OK):
            continue
        if root == CGROUP_ROOTS[1] and "pids" not in _read(root / "cgroup.subtree_control"):
            continue
        group = root / f"mge-sandbox-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def remove_cgroup(group: Path | None) -> None:
    """Kill whatever is still in the group (a process that escaped the process group), then remove it."""
    if group is None:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = [int(p) for p in _read(group / "cgroup.procs").split()]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        group.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""

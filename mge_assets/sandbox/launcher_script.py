"""Runs first in every sandboxed child, then becomes the command. It is run as `python -I -c <text>`,
so it imports nothing from MGE; each step is best effort and what held is written to a JSON report.

Order: join the pids cgroup; new network and PID namespaces (loopback up); resource limits; no new
privileges; Landlock (read-only system and interpreter paths, read-write only the sandbox's own
folder); write the report; fork the command as PID 1 of the new PID namespace, so that every process
it leaves behind dies with it, and wait for it.

Usage: python -I -c <text> '<json config>' command [args...]
"""

import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys

CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_LANDLOCK = {"create": 444, "add_rule": 445, "restrict": 446}
FS_FILE_RIGHTS = 0b111  # execute, write_file, read_file
FS_READ = 0b1101  # execute, read_file, read_dir
FS_ALL_ABI1 = (1 << 13) - 1
FS_REFER, FS_TRUNCATE = 1 << 13, 1 << 14
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

libc = ctypes.CDLL(None, use_errno=True)  # the interpreter links libc


def main() -> None:
    config = json.loads(sys.argv[1])
    command = sys.argv[2:]
    report = {}
    report["processes"] = join_cgroup(config["cgroup_procs"], config["limits"]["processes"])
    report["network"], pid_namespace = isolate_namespaces()
    report["pid_namespace"] = "yes" if pid_namespace else "no"
    set_limits(config["limits"])
    report["filesystem"] = restrict_filesystem(config["read_only"], config["read_write"], config["devices"])
    with open(config["report"], "w") as handle:
        json.dump(report, handle)
    if not pid_namespace:
        os.execvp(command[0], command)
    child = os.fork()
    if child == 0:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))  # the launcher killed: the whole namespace goes
        os.execvp(command[0], command)
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def join_cgroup(procs_file: str, limit: int) -> str:
    if not procs_file:
        return f"RLIMIT_NPROC {limit}" + (" (not enforced for root)" if os.geteuid() == 0 else "")
    try:
        with open(procs_file, "w") as handle:
            handle.write(str(os.getpid()))
        return f"pids cgroup, at most {limit}"
    except OSError as error:
        return f"RLIMIT_NPROC {limit}; joining the pids cgroup failed: {error.strerror}"


def isolate_namespaces() -> tuple[str, bool]:
    """New network and PID namespaces; without root, inside a user namespace of our own uid."""
    uid, gid = os.geteuid(), os.getegid()
    base = CLONE_NEWNET | CLONE_NEWPID | (0 if uid == 0 else CLONE_NEWUSER)
    for flags in (base, base & ~CLONE_NEWPID):
        if libc.unshare(flags) == 0:
            break
    else:
        return f"open: unshare refused ({os.strerror(ctypes.get_errno())})", False
    if flags & CLONE_NEWUSER:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    try:
        loopback_up()
        network = "isolated: own network namespace with loopback only"
    except OSError as error:
        network = f"isolated: own network namespace, no loopback ({error.strerror})"
    return network, bool(flags & CLONE_NEWPID)


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def set_limits(limits: dict) -> None:
    for name, key in (
        ("RLIMIT_CPU", "cpu_seconds"),
        ("RLIMIT_AS", "memory_bytes"),
        ("RLIMIT_FSIZE", "file_size_bytes"),
        ("RLIMIT_NOFILE", "open_files"),
        ("RLIMIT_NPROC", "processes"),
    ):
        resource.setrlimit(getattr(resource, name), (limits[key], limits[key]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def restrict_filesystem(read_only: list, read_write: list, devices: list) -> str:
    """Landlock: outside the listed paths nothing can be read or written (Linux 5.13+)."""
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(SYS_LANDLOCK["create"], None, 0, 1)
    if abi < 1:
        return f"not restricted: Landlock unavailable ({os.strerror(ctypes.get_errno())})"
    handled = FS_ALL_ABI1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    # ABI 6 scopes signals and abstract unix sockets to the sandbox's own processes.
    attr = struct.pack("QQQ", handled, 0, 0b11) if abi >= 6 else struct.pack("Q", handled)
    ruleset = libc.syscall(SYS_LANDLOCK["create"], attr, len(attr), 0)
    if ruleset < 0:
        return f"not restricted: Landlock refused the ruleset ({os.strerror(ctypes.get_errno())})"
    file_rights = FS_FILE_RIGHTS | (FS_TRUNCATE if abi >= 3 else 0)
    rules = [(p, FS_READ) for p in read_only] + [(p, handled) for p in read_write] + [(p, file_rights) for p in devices]
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        if not os.path.isdir(path):
            rights &= file_rights
        rule = struct.pack("=Qi", rights, fd)
        libc.syscall(SYS_LANDLOCK["add_rule"], ruleset, 1, rule, 0)
        os.close(fd)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if libc.syscall(SYS_LANDLOCK["restrict"], ruleset, 0) != 0:
        return f"not restricted: Landlock refused ({os.strerror(ctypes.get_errno())})"
    os.close(ruleset)
    scope = "; signals and abstract sockets scoped to the sandbox" if abi >= 6 else ""
    return f"Landlock ABI {abi}: read-only system and interpreter paths, read-write only its own folder{scope}"


main()

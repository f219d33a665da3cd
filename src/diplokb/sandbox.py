"""Limits a query worker process puts on itself before it loads anything.

- no network: a seccomp filter makes socket() fail for every family but AF_UNIX (the worker's
  pipe to the server is made before), connect() fail on every socket (a client's connection
  lent to a worker to write its reply cannot be dissolved with AF_UNSPEC and reconnected
  elsewhere), and io_uring (which could open sockets) unavailable. It
  holds for native code too: pyoxigraph's own HTTP client (SERVICE) cannot connect either.
- memory: RLIMIT_AS caps the worker's address space; an allocation past it fails, and the
  worker dies or reports MemoryError instead of growing until the machine swaps.

Linux only (x86-64 and aarch64); `deny_network` returns an error text where it cannot apply.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct

_ARCH = {  # machine -> (AUDIT_ARCH, socket, io_uring_setup, connect)
    "x86_64": (0xC000003E, 41, 425, 42),
    "aarch64": (0xC00000B7, 198, 425, 203),
}
_LD_W_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_EPERM, _EACCES = 1, 13
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


def _program(arch: int, nr_socket: int, nr_uring: int, nr_connect: int) -> list[tuple[int, int, int, int]]:
    # seccomp_data: nr at 0, arch at 4, args[0] at 16 (low half on little-endian machines)
    return [
        (_LD_W_ABS, 0, 0, 4),
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, _ERRNO | _EPERM),           # another ABI: nothing allowed
        (_LD_W_ABS, 0, 0, 0),
        (_JGE, 7, 0, 0x40000000),                 # x32 syscalls -> deny
        (_JEQ, 6, 0, nr_uring),                   # io_uring_setup -> deny
        (_JEQ, 3, 0, nr_connect),                 # connect() -> EACCES, on any socket
        (_JEQ, 0, 3, nr_socket),                  # not socket() -> allow
        (_LD_W_ABS, 0, 0, 16),
        (_JEQ, 1, 0, 1),                          # AF_UNIX -> allow
        (_RET, 0, 0, _ERRNO | _EACCES),           # any other socket family
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _ERRNO | _EPERM),
    ]


def deny_network() -> str | None:
    """Forbids this process (and threads it starts later) to open network sockets.
    None when done, else why it could not be done."""
    machine = platform.machine()
    if os.name != "posix" or platform.system() != "Linux" or machine not in _ARCH:
        return f"no network sandbox on {platform.system()} {machine}"
    prog = _program(*_ARCH[machine])
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}"
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        return f"seccomp filter refused: {os.strerror(ctypes.get_errno())}"
    return None


def limit_memory(megabytes: int) -> str | None:
    """Caps this process's address space at `megabytes` MiB (0: no cap)."""
    if megabytes <= 0:
        return None
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError) as exc:
        return f"could not limit memory: {exc}"
    return None


def no_core_dumps() -> str | None:
    """A crashed worker leaves no core file (writing one delays the report, and fills disks)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError) as exc:
        return f"could not turn off core dumps: {exc}"
    return None

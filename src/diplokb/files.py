"""Files on disk, read and written so that a fault never leaves anything half-done.

Reading: `read_regular` reads a KB file (YAML or archived text) only when it is a regular file
inside the KB folder (after following symlinks) and under a size limit, so that a `text_file`
naming /etc/passwd, ../../secret or /dev/zero is refused with a message instead of being
archived (or read until memory runs out).

Writing: `write_atomically` replaces a folder of exports as a whole or not at all. The new
set is written into a fresh folder beside the old one (same parent, so same file system),
files it keeps are hard-linked in, and the two folders are then exchanged in one step
(renameat2(RENAME_EXCHANGE) on Linux): at every instant the folder's path names either the
complete old set or the complete new one. Where that call is missing, the old folder is
renamed aside and the new one renamed in (with the old one renamed back if that fails): a
reader may then find no folder for that instant, never a mix. Leftovers of a killed build
(`.NAME.new-*`, `.NAME.old-*` beside the folder, and the per-file temporaries of earlier
versions inside it) are removed by the next write, under a lock on the parent folder so that
two builds never remove each other's work. Files and folders get the mode the umask gives.
(Nothing is fsync'ed: the promise is about a build that fails or is killed, not power loss.)

A file may be given as a `Splice`: ranges of the file it replaces and new byte strings. Its
ranges are copied in the kernel (os.copy_file_range; os.sendfile, then bounded reads and
writes where the file system or the system cannot), so the old bytes never enter Python; the
old file must have the stat (`stat_key`) the splice was planned from, before and after the
copy, else `SourceChanged` is raised (and nothing is written).
"""
from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAX_YAML_BYTES = 4 * 1024 * 1024  # a KB YAML file (the largest real one is ~40 KB)
MAX_TEXT_BYTES = 8 * 1024 * 1024  # an archived source text


class FileRefused(Exception):
    """A file that is not read: `reason` says why, in words for the curator."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether `path`, with every symlink followed, is `root` or within it."""
    return _within(os.path.realpath(path), _real(os.path.abspath(root)))


def _within(real: str, base: str) -> bool:
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


@lru_cache(maxsize=64)
def _real(root: str) -> str:
    """realpath of an absolute folder path (cached: a build asks for the KB folder's per file)."""
    return os.path.realpath(root)


def _opened_path(fd: int, path) -> str:
    """The real path of an open file: what the kernel opened (Linux), else realpath(path)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)


def read_regular(path: Path, root: Path, limit: int) -> bytes:
    """The bytes of `path`, which must be a regular file inside `root` of at most `limit`
    bytes; raises FileRefused otherwise (and OSError when it cannot be read). Nothing that is
    not a regular file is opened, and the file checked is the file opened (fstat, and its
    path as the kernel gives it), so a file swapped for a symlink meanwhile is refused too."""
    base = _real(os.path.abspath(root))
    st = os.lstat(path)  # the path itself; a symlink's target is checked and stat'ed only for a symlink
    if stat.S_ISLNK(st.st_mode):
        if not _within(os.path.realpath(path), base):
            raise FileRefused("it is outside the KB folder (a symlink out of it?)")
        st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused("it is not a regular file")
    # O_NONBLOCK: should a FIFO replace it meanwhile, opening must not wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not _within(_opened_path(fd, path), base):
            raise FileRefused("it is outside the KB folder (a symlink out of it?)")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused("it is not a regular file")
        if st.st_size > limit:
            raise FileRefused(f"it is {st.st_size:,} bytes, over the limit of {limit:,}")
        # The first read asks for one byte more than fstat's size (a buffer of the file's size,
        # not of 1 MiB), so that a short read ending where fstat said ends the reading, without
        # a second read to find the end; a file that grew meanwhile is read on, 1 MiB at a time.
        chunks, size, asked = [], 0, min(st.st_size + 1, 1 << 20)
        while size <= limit:
            asked = min(asked, limit + 1 - size)
            chunk = os.read(fd, asked)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size == st.st_size and len(chunk) < asked:
                break
            asked = 1 << 20
        if size > limit:  # it grew while being read
            raise FileRefused(f"it is over the limit of {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system
    or the file system cannot."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _swap_in(new: Path, target: Path, parent: Path) -> None:
    """Puts folder `new` at `target` (an existing folder), removing the old one."""
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now the old set
        return
    old = parent / f".{target.name}.old-{secrets.token_hex(6)}"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)  # roll back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _leftovers(target: Path, parent: Path, names) -> list[Path]:
    """What a killed write left: staging folders beside `target`, temporaries inside it."""
    found = [p for p in parent.glob(f".{target.name}.*-*")
             if p.name.startswith((f".{target.name}.new-", f".{target.name}.old-"))]
    if target.is_dir():  # per-file temporaries of the earlier writer: .NAME.XXXXXXXX
        found += [p for p in target.iterdir() if p.name.startswith(".")
                  and any(p.name.startswith(f".{n}.") for n in names) and p.is_file()]
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


class _Lock:
    """An exclusive lock on a folder (flock on it), released on exit or when the process dies."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


def _link_or_copy(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        try:
            os.link(src, dst)  # the same file: its bytes and mtime are kept
        except OSError:
            shutil.copy2(src, dst)


def stat_key(st: os.stat_result) -> tuple:
    """What identifies a file's content without reading it: (size, mtime_ns, ctime_ns, inode,
    device). Any write through the file system changes the mtime (or, with the mtime set back,
    the ctime); a file replaced by another has another inode (docs/build-cache.md)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class SourceChanged(Exception):
    """The file a Splice copies from is not (or no longer) the one it was planned from."""


@dataclass(frozen=True)
class Splice:
    """A new file made of `pieces`: (offset, length) ranges of `source`, whose stat_key must
    be `stat`, and byte strings; `size` bytes in all."""

    source: Path
    stat: tuple
    pieces: tuple
    size: int


_NO_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF)


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy(src: int, dst: int, off: int, n: int, how: list) -> None:
    """Copies `n` bytes at `off` of `src` to `dst`'s position; `how`: [0] copy_file_range,
    [1] sendfile, [2] pread/write, moved on from when one is not supported (it raises one of
    _NO_COPY, or copies nothing and returns 0, as some file systems do)."""
    while n:
        way = how[0]
        try:
            if way == 0:
                k = os.copy_file_range(src, dst, n, off)
            elif way == 1:
                k = os.sendfile(dst, src, off, n)
            else:
                data = os.pread(src, min(n, 1 << 20), off)
                _write_all(dst, data)
                k = len(data)
        except (OSError, AttributeError) as exc:
            if way == 2 or (isinstance(exc, OSError) and exc.errno not in _NO_COPY):
                raise
            how[0] += 1
            continue
        if k == 0:
            if way < 2:
                how[0] += 1
                continue
            raise SourceChanged("the file copied from ended early")
        off += k
        n -= k


def _write_splice(fd: int, plan: Splice) -> None:
    src = os.open(plan.source, os.O_RDONLY)
    try:
        if stat_key(os.fstat(src)) != plan.stat:
            raise SourceChanged(str(plan.source))
        how = [0]
        for piece in plan.pieces:
            if type(piece) is tuple:
                _copy(src, fd, piece[0], piece[1], how)
            else:
                _write_all(fd, piece)
        if stat_key(os.fstat(src)) != plan.stat or os.fstat(fd).st_size != plan.size:
            raise SourceChanged(str(plan.source))  # written to meanwhile
    finally:
        os.close(src)


def write_atomically(out_dir: Path, files: dict, known: tuple = (), mtime_ns: int | None = None) -> None:
    """Replaces `out_dir` by its current content with `files` (name -> bytes or Splice)
    written over it, as a whole or not at all (see the module docstring). Callers pass only
    the files that changed: the others (and anything else in the folder) are carried over
    unchanged, mtimes included. `known`: names of files whose earlier temporaries may be left
    inside `out_dir`. `mtime_ns`: the access and modification time given to the files written
    (before they are moved in).
    """
    out_dir = Path(out_dir)
    target = Path(os.path.realpath(out_dir)) if out_dir.is_symlink() else out_dir.absolute()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _Lock(parent):
        for left in _leftovers(target, parent, (*files, *known)):
            _remove(left)
        if not files and target.is_dir():
            return
        folders = sorted(e.name for e in target.iterdir() if e.is_dir() and not e.is_symlink()) \
            if target.is_dir() else []
        if folders:  # e.g. --out . : the folder is not a folder of exports
            raise OSError(errno.EISDIR, f"it holds folders ({', '.join(folders[:3])}), so it is not a folder of "
                                        "exports only; give the exports a folder of their own", str(target))
        new = parent / f".{target.name}.new-{secrets.token_hex(6)}"
        os.mkdir(new, 0o777)  # the umask gives the mode
        try:
            mode = 0o666 & ~umask()
            if target.is_dir():
                for entry in sorted(target.iterdir()):
                    if entry.name in files:
                        continue
                    if (entry.name in known and not entry.is_symlink() and entry.is_file()
                            and stat.S_IMODE(entry.stat().st_mode) != mode):
                        shutil.copy2(entry, new / entry.name)  # e.g. -rw------- of an earlier writer:
                        os.chmod(new / entry.name, mode)  # a copy, so the old set stays as it was
                    else:
                        _link_or_copy(entry, new / entry.name)
            for name, data in sorted(files.items()):
                fd = os.open(new / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                try:
                    if type(data) is Splice:
                        _write_splice(fd, data)
                    else:
                        _write_all(fd, data)
                    if mtime_ns is not None:
                        os.utime(fd, ns=(mtime_ns, mtime_ns))
                finally:
                    os.close(fd)
            if target.is_dir():
                _swap_in(new, target, parent)
            else:
                os.rename(new, target)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise

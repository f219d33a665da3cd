"""Running parts of a build in a second process, so a build can use two cores.

A build loads and compiles half of the files in a second process (`Peer`: the two swap the
ids their files define, then the child sends what its files compiled to), validates the KB
while it renders the exports, and saves the cache while it assembles and writes them
(`Forked`): the two steps of each pair read the same data and write nothing the other needs.
A child made with fork() starts with a copy-on-write view of everything the build holds
(nothing is sent to it); what it sends back is pickled, or marshalled where it is plain data.
An error raised in it is raised again in the parent. Where fork is missing or only one core is free,
everything runs in-process; the tests check that the results do not depend on the number of
processes.
"""
from __future__ import annotations

import marshal
import os


CAN_FORK = hasattr(os, "fork")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    """Processes a build uses unless told: 2 where 2 cores are free and fork exists, else 1."""
    return 2 if CAN_FORK and available_cores() >= 2 else 1


class WorkerError(RuntimeError):
    """The child process failed in a way that could not be passed back as its own error."""


class Forked:
    """`fn()` in a child process (a Peer that sends one message: what `fn` returned), or in
    this process when `.result()` is asked for, if `fork` is false or fork() is missing."""

    def __init__(self, fn, *, fork: bool = True):
        self.fn = fn
        self.peer = Peer(lambda channel: channel.send(fn())) if fork and CAN_FORK else None

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        return self.peer.pid if self.peer is not None else None

    def result(self):
        if self.peer is None:
            return self.fn()
        try:
            return self.peer.receive()
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stops the child if its result is no longer wanted (e.g. the build failed)."""
        if self.peer is not None:
            self.peer.close()
            self.peer = None


class Peer:
    """A forked process that talks with its parent: the child runs `fn(channel)` (its
    channel's peer is the parent), the parent `send`s and `receive`s through this object.
    Messages are pickled (or marshalled: _Channel), framed by their length. An error raised in the child is sent
    instead of its next message and raised by the parent's `receive`."""

    def __init__(self, fn):
        to_parent = os.pipe()  # (read end, write end)
        to_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(to_parent[0])
            os.close(to_child[1])
            channel = _Channel(to_child[0], to_parent[1])
            try:
                try:
                    fn(channel)
                except BaseException as exc:  # noqa: BLE001 - passed back to the parent as is
                    channel.send_error(exc)
            finally:
                os._exit(0)
        os.close(to_parent[1])
        os.close(to_child[0])
        self.pid = pid
        self.channel = _Channel(to_parent[0], to_child[1])

    def send(self, value, *, plain: bool = False) -> None:
        self.channel.send(value, plain=plain)

    def receive(self):
        return self.channel.receive()

    def close(self) -> None:
        """Ends the child (killed if it is still running) and its channel."""
        if self.pid is None:
            return
        import signal

        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self.pid = None
        self.channel.close()


class _Channel:
    """Messages framed by their length and kind: a pickled value, a marshalled one (plain
    data only, `send(plain=True)`: strings, numbers, tuples, lists, dicts, sets; marshal writes
    and reads the build's units about twice as fast as pickle), or a pickled error."""

    PICKLED, MARSHALLED, ERROR = b"p", b"m", b"e"

    def __init__(self, read_fd: int, write_fd: int):
        self.reader = os.fdopen(read_fd, "rb")
        self.writer = os.fdopen(write_fd, "wb")

    def send(self, value, *, plain: bool = False, kind: bytes = b"") -> None:
        if plain:
            kind, data = self.MARSHALLED, marshal.dumps(value)
        else:
            import pickle  # (only where a second process runs, which a rebuild does not)

            kind, data = kind or self.PICKLED, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(len(data).to_bytes(8, "little") + kind)
        self.writer.write(data)
        self.writer.flush()

    def send_error(self, exc: BaseException) -> None:
        try:
            self.send(exc, kind=self.ERROR)
        except Exception:  # noqa: BLE001 - an error that does not pickle
            import traceback

            self.send(WorkerError(traceback.format_exc()), kind=self.ERROR)

    def receive(self):
        import pickle  # (as in send: only where a second process runs)

        head = self.reader.read(9)
        if len(head) < 9:
            raise WorkerError("the other process ended without a result")
        data = self.reader.read(int.from_bytes(head[:8], "little"))
        kind = head[8:]
        value = marshal.loads(data) if kind == self.MARSHALLED else pickle.loads(data)
        if kind == self.ERROR:
            raise value
        return value

    def close(self) -> None:
        for f in (self.reader, self.writer):
            try:
                f.close()
            except OSError:
                pass

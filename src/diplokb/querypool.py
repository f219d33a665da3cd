"""Worker processes that run the endpoint's queries, one at a time each.

A worker first forbids itself the network and caps its memory (sandbox.py), then loads the KB.
A query past the time limit, or whose client went away, is stopped by killing its worker (the
only way to stop native code) and a new worker is started in the background. A worker that
dies by itself is reported as the crash it was (signal, or the memory cap), never as a timeout.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
import os
import queue
import select
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import QueryError


@dataclass(frozen=True)
class Job:
    sparql: str
    formats: tuple[str, ...]  # acceptable format names, best first
    any_format: bool  # the client takes anything (no Accept, or */*)
    max_rows: int
    max_bytes: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    head: bytes = b""  # the HTTP reply's first lines, when the worker is to write a 200 itself
    family: int = socket.AF_INET  # the client connection's address family, when it is lent


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes  # with `written` >= 0: what is left of the HTTP reply, for the server to send
    ctype: str
    truncated: bool = False
    written: int = -1  # bytes of the HTTP reply the worker wrote to the client (-1: none; GONE)


GONE = -2  # the worker found the client's connection closed when it wrote

# (plain ints: `socket.MSG_PEEK | socket.MSG_DONTWAIT` makes an enum each time, ~2 µs)
_PEEK = int(socket.MSG_PEEK) | int(socket.MSG_DONTWAIT)
_SEND = int(socket.MSG_DONTWAIT) | int(socket.MSG_NOSIGNAL)
# A client is watched for its end (FIN: POLLRDHUP; a reset: POLLERR/POLLHUP, always reported),
# not for data: a client that sends its next request as soon as the worker's reply reaches it
# does not wake the server while that worker finishes. (POLLIN where POLLRDHUP is missing.)
_CLIENT_END = getattr(select, "POLLRDHUP", select.POLLIN)


class Stopped(Exception):
    """The query did not finish: `status` and a message for the client."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _worker(conn, files: list[str], memory_mb: int, writing) -> None:
    import os

    from .sandbox import deny_network, limit_memory, no_core_dumps

    os.environ["RUST_BACKTRACE"] = "0"  # a crash is reported at once, not after symbolising
    problem = deny_network() or limit_memory(memory_mb) or no_core_dumps()
    if problem:
        conn.send(("failed", problem))
        return
    from .analysis import analyse
    from .query import Store

    try:
        store = Store([Path(f) for f in files])
    except MemoryError:
        conn.send(("failed", f"the KB does not fit in the worker memory limit of {memory_mb} MB"))
        return
    analyse("ASK {}")  # imports the parser and builds its grammar before the first query
    pipe = socket.socket(fileno=os.dup(conn.fileno()))  # to receive a client's connection with a job
    conn.send(("ready",))
    while True:
        try:
            data, fd = _recv_job(pipe)
        except EOFError:
            return
        job = decode_job(data)
        # (family and type given: socket() then asks the kernel nothing about the descriptor)
        client = socket.socket(job.family, socket.SOCK_STREAM, 0, fileno=fd) if fd is not None else None
        reply = _answer(store, job, memory_mb)
        if client is not None:
            reply = _write_reply(client, job.head, reply, writing)
        conn.send_bytes(_encode(reply))


def _recv_job(pipe: socket.socket) -> tuple[bytes, int | None]:
    """One job as multiprocessing's Connection frames it (a 4-byte length, then the bytes),
    and the client connection passed with it, if any."""
    data, fds, _, _ = socket.recv_fds(pipe, 65536, 1)
    client = fds[0] if fds else None
    if not data:
        if client is not None:
            os.close(client)
        raise EOFError
    buf = bytearray(data)
    while len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[:4], "big", signed=True):
        more = pipe.recv(1 << 20)
        if not more:
            raise EOFError
        buf += more
    return bytes(buf[4:]), client


def _write_reply(client: socket.socket, head: bytes, reply: Reply, writing) -> Reply:
    """A 200 written by the worker to the client, as far as the socket takes it without
    waiting (the server sends the rest, with its write timeout: a client that does not read
    holds no worker). Other replies go back to the server, which words them."""
    try:
        if reply.status != 200:
            return reply
        extra = b"X-Result-Truncated: true\r\n" if reply.truncated else b""
        data = b"%sContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n%s" % (
            head, reply.ctype.encode("latin-1"), extra, len(reply.body), reply.body)
        writing.value = 1  # from here the server must not answer this request itself
        sent, view = 0, memoryview(data)
        while sent < len(data):
            try:
                sent += client.send(view[sent:], _SEND)
            except BlockingIOError:
                break
            except OSError:
                return Reply(200, b"", reply.ctype, reply.truncated, GONE)
        return Reply(200, data[sent:], reply.ctype, reply.truncated, sent)
    finally:
        client.close()


def _answer(store, job: Job, memory_mb: int) -> Reply:
    import pyoxigraph as ox

    from .results import GRAPH_FORMATS, SOLUTION_FORMATS, serialize

    try:
        result = store.query(job.sparql, default_graphs=job.default_graphs, named_graphs=job.named_graphs)
        allowed = GRAPH_FORMATS if isinstance(result, ox.QueryTriples) else SOLUTION_FORMATS
        fmt = next((f for f in job.formats if f in allowed), None)
        if fmt is None and not job.any_format:
            return _error(406, f"none of the requested formats ({', '.join(job.formats) or 'none known'}) "
                               f"fits this result; it can be given as: {', '.join(allowed.values())}")
        if fmt in (None, "json") and isinstance(result, ox.QuerySolutions):
            body = _native_json(result, job.max_rows, job.max_bytes)
            if body is not None:
                return Reply(200, body, SOLUTION_FORMATS["json"])
            # over a limit: run it again through our writer, which truncates
            result = store.query(job.sparql, default_graphs=job.default_graphs, named_graphs=job.named_graphs)
        body, ctype, truncated = serialize(result, fmt, job.max_rows, job.max_bytes)
        return Reply(200, body, ctype, truncated)
    except QueryError as exc:
        return _error(400, str(exc))
    except MemoryError:
        return _error(503, f"query stopped: it needed more than the worker memory limit of {memory_mb} MB")
    except Exception as exc:  # noqa: BLE001 - reported to the client; the worker lives on
        return _error(500, f"query failed: {type(exc).__name__}: {exc}")


def _native_json(result, max_rows: int, max_bytes: int) -> bytes | None:
    """SPARQL JSON results written by pyoxigraph (Rust: 2-3x faster than results.py's writer
    on large results, and standard), or None when the body would pass a row or byte limit.
    A row is at least 3 bytes (`{},`), so a body under 3 x max_rows bytes needs no count."""
    import json

    import pyoxigraph as ox

    out = _Capped(max_bytes)
    try:  # capped as it is written: a huge result stops at max_bytes, in time and in memory
        result.serialize(out, format=ox.QueryResultsFormat.JSON)
    except _Full:
        return None
    body = b"".join(out.parts)
    if len(body) >= 3 * max_rows and len(json.loads(body)["results"]["bindings"]) > max_rows:
        return None
    return body + b"\n"


class _Full(Exception):
    pass


class _Capped:
    """A write-only file that refuses to hold more than `limit` bytes."""

    def __init__(self, limit: int | None):
        self.parts: list[bytes] = []
        self.left = limit if limit is not None else float("inf")

    def write(self, b) -> int:
        self.left -= len(b)
        if self.left < 0:
            raise _Full
        self.parts.append(bytes(b))
        return len(b)

    def flush(self) -> None:
        pass


def _error(status: int, message: str) -> Reply:
    import json

    body = json.dumps({"error": {"status": status, "message": message}}) + "\n"
    return Reply(status, body.encode(), "application/json")


def encode_job(job: Job) -> bytes:
    """A job as bytes for the worker's pipe: its small fields as a JSON line (the same for
    every request of a kind, so cached), the HTTP head if any, then the query text. Cheaper
    than pickling a Job."""
    fields = (job.formats, job.any_format, job.max_rows, job.max_bytes, job.default_graphs, job.named_graphs,
              len(job.head), job.family)
    # cached when the protocol's graph lists are empty (a client's own values are not kept)
    fields = _job_head(*fields) if not (job.default_graphs or job.named_graphs) else _job_head.__wrapped__(*fields)
    return fields + job.head + job.sparql.encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=256)
def _job_head(*fields) -> bytes:
    import json

    return json.dumps(fields).encode() + b"\n"


def decode_job(data: bytes) -> Job:
    fields, _, rest = data.partition(b"\n")
    formats, any_format, max_rows, max_bytes, default_graphs, named_graphs, head, family = (
        _job_fields(fields) if len(fields) <= 512 else _job_fields.__wrapped__(fields))
    return Job(rest[head:].decode("utf-8", "surrogatepass"), formats, any_format, max_rows, max_bytes,
               default_graphs, named_graphs, rest[:head], family)


@functools.lru_cache(maxsize=256)
def _job_fields(line: bytes) -> tuple:
    """A job's small fields, decoded (cached: the same line comes with every request of a kind)."""
    import json

    formats, any_format, max_rows, max_bytes, default_graphs, named_graphs, head, family = json.loads(line)
    return (tuple(formats), any_format, max_rows, max_bytes, tuple(default_graphs), tuple(named_graphs), head,
            family)


def _encode(r: Reply) -> bytes:
    head = f"{r.status}\n{r.ctype}\n{int(r.truncated)}\n{r.written}\n".encode()
    return head + r.body


def _decode(data: bytes) -> Reply:
    status, ctype, truncated, written, body = data.split(b"\n", 4)
    return Reply(int(status), body, ctype.decode(), truncated == b"1", int(written))


class _Worker:
    """A worker process, its pipe (a Connection, and a socket on it to pass connections), and
    the flag it sets in shared memory once it starts writing a reply to a client."""

    __slots__ = ("proc", "conn", "sock", "writing", "pending")

    def __init__(self, proc, conn, writing):
        self.proc, self.conn, self.writing = proc, conn, writing
        self.sock = socket.socket(fileno=os.dup(conn.fileno()))
        self.pending = bytearray()  # what was read from the pipe past the last message

    def close(self) -> None:
        self.conn.close()
        self.sock.close()


class WorkerPool:
    """`size` processes that each hold the KB; `run` lends one to a query."""

    def __init__(self, files: list[Path], size: int, memory_mb: int):
        self.files = [str(f) for f in files]
        self.memory_mb = memory_mb
        self.ctx = mp.get_context("spawn")
        self.idle: queue.Queue = queue.LifoQueue()
        self.lock = threading.Lock()
        self.procs: set = set()
        self.closed = False
        for _ in range(size):
            self.idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        writing = self.ctx.RawValue("b", 0)
        proc = self.ctx.Process(target=_worker, args=(child, self.files, self.memory_mb, writing), daemon=True)
        proc.start()
        child.close()
        try:
            msg = parent.recv()
        except EOFError:
            msg = ("failed", f"the worker died while loading the KB ({_death(proc)})")
        if msg[0] != "ready":
            proc.kill()
            raise QueryError(f"cannot start a query worker: {msg[1]}")
        with self.lock:
            self.procs.add(proc)
        return _Worker(proc, parent, writing)

    def _replace(self, worker: _Worker) -> None:
        """Kills a worker and starts its successor in the background."""
        worker.proc.kill()
        worker.proc.join()
        worker.close()
        with self.lock:
            self.procs.discard(worker.proc)

        def start():
            if self.closed:
                return
            try:
                self.idle.put(self._spawn())
            except QueryError:
                if not self.closed:  # the pool goes on with one worker fewer; say so
                    raise

        threading.Thread(target=start, daemon=True).start()

    def run(self, job: Job | bytes, timeout: float, wait_for: float, client: socket.socket | None = None,
            lend: bool = False) -> Reply:
        """The query's reply; `Stopped` if it timed out, crashed, its client left, or no worker
        was free within `wait_for` seconds. With `lend`, the client's connection goes to the
        worker with the job, and a 200 comes back as `written` >= 0: the worker wrote it (or
        its start) to the client, and `body` is what is left to send."""
        give_up = time.monotonic() + wait_for
        while True:
            try:
                worker = self.idle.get(timeout=max(0.0, give_up - time.monotonic()))
            except queue.Empty:
                raise Stopped(503, "all query workers are busy; try again shortly",
                              retry_after=max(1, round(timeout))) from None
            # one poll says whether the worker died while idle and whether the client is still there
            check = select.poll()
            check.register(worker.proc.sentinel, select.POLLIN)
            if client is not None:
                check.register(client.fileno(), _CLIENT_END)
            ready = {fd for fd, _ in check.poll(0)}
            if worker.proc.sentinel not in ready:
                break
            self._replace(worker)  # died while idle: not this query's doing
        if client is not None and client.fileno() in ready and _gone(client):  # left while it waited
            self.idle.put(worker)  # (the worker is kept)
            raise Stopped(499, "the client closed the connection before its query started")
        conn = worker.conn
        deadline = time.monotonic() + timeout
        watch = select.poll()  # (multiprocessing.connection.wait builds a selector per call)
        pipe = conn.fileno()
        watch.register(pipe, select.POLLIN)
        if client is not None:
            watch.register(client.fileno(), _CLIENT_END)
        data = job if isinstance(job, bytes) else encode_job(job)
        try:
            if lend and client is not None:
                worker.writing.value = 0
                framed = len(data).to_bytes(4, "big", signed=True) + data
                sent = socket.send_fds(worker.sock, [framed], [client.fileno()])
                if sent < len(framed):
                    worker.sock.sendall(framed[sent:])
            else:
                lend = False
                conn.send_bytes(data)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready = watch.poll(left * 1000 + 1)
                if any(fd == pipe for fd, _ in ready):
                    reply = _decode(_recv_message(worker.sock, worker.pending))
                    self.idle.put(worker)
                    return reply
                if ready:  # the client's side
                    if _gone(client):
                        self._replace(worker)
                        raise Stopped(499, "the client closed the connection; its query was stopped")
                    # still there (a half-close with data unread, or POLLIN where POLLRDHUP is
                    # missing): stop watching it, the worker's reply decides
                    watch.unregister(client.fileno())
        except (EOFError, OSError, ValueError):
            worker.proc.join(1)
            reason = _death(worker.proc)
            self._replace(worker)
            self._written(worker, lend)
            if worker.proc.exitcode == -signal.SIGABRT and self.memory_mb:
                raise Stopped(503, f"query stopped: it needed more memory than the worker limit of "
                                   f"{self.memory_mb} MB (the worker aborted on a failed allocation)") from None
            raise Stopped(500, f"the query worker crashed ({reason}) while running this query; "
                               "the query was not answered and a new worker is starting") from None
        self._replace(worker)
        self._written(worker, lend)
        raise Stopped(503, f"query stopped: it ran longer than the time limit of {timeout:g} s")

    @staticmethod
    def _written(worker: _Worker, lend: bool) -> None:
        """After a worker was killed: if it had begun to write the reply, the client has (part
        of) a 200 and must not get another answer: its connection is closed instead."""
        if lend and worker.writing.value:
            raise Stopped(499, "the worker was stopped while writing the reply")

    def close(self) -> None:
        self.closed = True
        with self.lock:
            for proc in self.procs:
                proc.kill()


def _recv_message(sock: socket.socket, pending: bytearray) -> bytes:
    """One message as multiprocessing's Connection.send_bytes frames it (a 4-byte length, or -1
    and an 8-byte one), read with as few calls as it takes (recv_bytes makes two for a small
    one). Bytes past the message stay in `pending`, the start of the next."""
    buf = pending

    def fill(at_least: int) -> None:
        while len(buf) < at_least:
            more = sock.recv(max(65536, min(1 << 20, at_least - len(buf))))
            if not more:
                raise EOFError
            buf.extend(more)

    fill(4)
    size, start = int.from_bytes(buf[:4], "big", signed=True), 4
    if size == -1:
        fill(12)
        size, start = int.from_bytes(buf[4:12], "big"), 12
    fill(start + size)
    with memoryview(buf) as view, view[start:start + size] as part:
        message = bytes(part)  # (one copy: a slice of the bytearray would be another)
    del buf[:start + size]
    return message


def _gone(sock: socket.socket) -> bool:
    """The peer closed: a peek that reads nothing (it does not wait: MSG_DONTWAIT)."""
    try:
        return sock.recv(1, _PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _death(proc) -> str:
    code = proc.exitcode
    if code is None:
        return "it stopped answering"
    if code < 0:
        name = signal.Signals(-code).name
        if name == "SIGABRT":
            return "SIGABRT: most often an allocation past the worker memory limit"
        return name
    return f"exit status {code}"

"""Worker processes that run the endpoint's queries, one at a time each.

A worker first forbids itself the network and caps its memory (sandbox.py), then loads the KB.
A query past the time limit, or whose client went away, is stopped by killing its worker (the
only way to stop native code) and a new worker is started in the background. A worker that
dies by itself is reported as the crash it was (signal, or the memory cap), never as a timeout.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
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


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    ctype: str
    truncated: bool = False


class Stopped(Exception):
    """The query did not finish: `status` and a message for the client."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _worker(conn, files: list[str], memory_mb: int) -> None:
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
    conn.send(("ready",))
    while True:
        try:
            job = decode_job(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(_encode(_answer(store, job, memory_mb)))


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
    every request of a kind, so cached), then the query text. Cheaper than pickling a Job."""
    head = _job_head(job.formats, job.any_format, job.max_rows, job.max_bytes, job.default_graphs,
                     job.named_graphs)
    return head + job.sparql.encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=256)
def _job_head(*fields) -> bytes:
    import json

    return json.dumps(fields).encode() + b"\n"


def decode_job(data: bytes) -> Job:
    import json

    head, _, text = data.partition(b"\n")
    formats, any_format, max_rows, max_bytes, default_graphs, named_graphs = json.loads(head)
    return Job(text.decode("utf-8", "surrogatepass"), tuple(formats), any_format, max_rows, max_bytes,
               tuple(default_graphs), tuple(named_graphs))


def _encode(r: Reply) -> bytes:
    head = f"{r.status}\n{r.ctype}\n{int(r.truncated)}\n".encode()
    return head + r.body


def _decode(data: bytes) -> Reply:
    status, ctype, truncated, body = data.split(b"\n", 3)
    return Reply(int(status), body, ctype.decode(), truncated == b"1")


class WorkerPool:
    """`size` processes that each hold the KB; `run` lends one to a query."""

    def __init__(self, files: list[Path], size: int, memory_mb: int):
        self.files = [str(f) for f in files]
        self.memory_mb = memory_mb
        self.ctx = mp.get_context("spawn")
        self.idle: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.procs: set = set()
        self.closed = False
        for _ in range(size):
            self.idle.put(self._spawn())

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.files, self.memory_mb), daemon=True)
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
        return proc, parent

    def _replace(self, proc, conn) -> None:
        """Kills a worker and starts its successor in the background."""
        proc.kill()
        proc.join()
        conn.close()
        with self.lock:
            self.procs.discard(proc)

        def start():
            if self.closed:
                return
            try:
                self.idle.put(self._spawn())
            except QueryError:
                if not self.closed:  # the pool goes on with one worker fewer; say so
                    raise

        threading.Thread(target=start, daemon=True).start()

    def run(self, job: Job | bytes, timeout: float, wait_for: float, client: socket.socket | None = None) -> Reply:
        """The query's reply; `Stopped` if it timed out, crashed, its client left, or no worker
        was free within `wait_for` seconds."""
        give_up = time.monotonic() + wait_for
        while True:
            try:
                proc, conn = self.idle.get(timeout=max(0.0, give_up - time.monotonic()))
            except queue.Empty:
                raise Stopped(503, "all query workers are busy; try again shortly",
                              retry_after=max(1, round(timeout))) from None
            if proc.is_alive():
                break
            self._replace(proc, conn)  # died while idle: not this query's doing
        deadline = time.monotonic() + timeout
        watch = select.poll()  # (multiprocessing.connection.wait builds a selector per call)
        pipe = conn.fileno()
        watch.register(pipe, select.POLLIN)
        if client is not None:
            watch.register(client.fileno(), select.POLLIN)
        try:
            conn.send_bytes(job if isinstance(job, bytes) else encode_job(job))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready = watch.poll(left * 1000 + 1)
                if any(fd == pipe for fd, _ in ready):
                    reply = _decode(conn.recv_bytes())
                    self.idle.put((proc, conn))
                    return reply
                if ready:  # the client's side
                    if _gone(client):
                        self._replace(proc, conn)
                        raise Stopped(499, "the client closed the connection; its query was stopped")
                    watch.unregister(client.fileno())  # a pipelined request: stop watching the client
        except (EOFError, OSError, ValueError):
            proc.join(1)
            reason = _death(proc)
            self._replace(proc, conn)
            if proc.exitcode == -signal.SIGABRT and self.memory_mb:
                raise Stopped(503, f"query stopped: it needed more memory than the worker limit of "
                                   f"{self.memory_mb} MB (the worker aborted on a failed allocation)") from None
            raise Stopped(500, f"the query worker crashed ({reason}) while running this query; "
                               "the query was not answered and a new worker is starting") from None
        self._replace(proc, conn)
        raise Stopped(503, f"query stopped: it ran longer than the time limit of {timeout:g} s")

    def close(self) -> None:
        self.closed = True
        with self.lock:
            for proc in self.procs:
                proc.kill()


def _gone(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
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

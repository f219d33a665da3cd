"""The server's limits as data: each is a `diplokb serve` option of the same name.

Kept apart from server.py so that the CLI can make its options without importing the HTTP
server (which `diplokb --help` would otherwise pay for). `OPTIONS` is a plain table, read by
the CLI at start-up; the `Settings` dataclass is made from it on first use (module
`__getattr__`), so that `diplokb --help` does not import `dataclasses` for it.
"""
from __future__ import annotations

# name -> (default, help); the default's type is the option's type
OPTIONS: dict[str, tuple] = {
    "host": ("127.0.0.1", "Address to listen on."),
    "port": (8000, "Port to listen on (0: any free port)."),
    "timeout": (10.0, "Seconds a query may run before it is stopped."),
    "max_rows": (10_000, "Most rows (or triples) a query returns."),
    "max_request_bytes": (100_000, "Largest request body or query string."),
    "workers": (0, "Worker processes running queries (0: one per CPU plus one, at most 9). One client "
                   "address uses at most all but one of them at once."),
    "max_reply_bytes": (20_000_000,
                        "Largest query result body; past it rows are dropped and X-Result-Truncated is set."),
    "worker_memory_mb": (2048,
                         "Address space of a query worker in MiB (0: no limit); past it the query fails (503)."),
    "client_queries": (8, "SPARQL requests one client address may have in flight; more get 503 + Retry-After."),
    "max_connections": (256, "Open connections in all."),
    "client_connections": (64, "Open connections per client address."),
    "request_timeout": (10.0, "Seconds a connection may take to send a whole request (or to read a reply)."),
    "allowed_hosts": ("", "Host names answered besides localhost with a loopback bind, comma-separated "
                          "(e.g. the public name a reverse proxy passes on)."),
}


def _make_settings():
    from dataclasses import field, make_dataclass

    cls = make_dataclass("Settings", [(name, type(default), field(default=default, metadata={"help": text}))
                                      for name, (default, text) in OPTIONS.items()],
                         frozen=True)
    cls.__module__ = __name__
    cls.__doc__ = "The server's limits; each is a `diplokb serve` option of the same name."
    return cls


def worker_count(workers: int) -> int:
    """--workers as a number: 0 is one per CPU, so that one client can use every core, plus the
    one that a client cannot take (the others' reserve), at least 2 and at most 9."""
    if workers > 0:
        return workers
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, min(9, cpus + 1))


def __getattr__(name: str):
    if name == "Settings":
        global Settings
        Settings = _make_settings()
        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

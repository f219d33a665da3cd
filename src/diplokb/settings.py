"""The server's limits as data: each is a `diplokb serve` option of the same name.

Kept apart from server.py so that the CLI can make its options without importing the HTTP
server (which `diplokb --help` would otherwise pay for).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """The server's limits; each is a `diplokb serve` option of the same name."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on."})
    port: int = field(default=8000, metadata={"help": "Port to listen on (0: any free port)."})
    timeout: float = field(default=10.0, metadata={"help": "Seconds a query may run before it is stopped."})
    max_rows: int = field(default=10_000, metadata={"help": "Most rows (or triples) a query returns."})
    max_request_bytes: int = field(default=100_000, metadata={"help": "Largest request body or query string."})
    workers: int = field(default=2, metadata={"help": "Worker processes running queries."})
    max_reply_bytes: int = field(default=20_000_000, metadata={
        "help": "Largest query result body; past it rows are dropped and X-Result-Truncated is set."})
    worker_memory_mb: int = field(default=2048, metadata={
        "help": "Address space of a query worker in MiB (0: no limit); past it the query fails (503)."})
    client_queries: int = field(default=8, metadata={
        "help": "SPARQL requests one client address may have in flight; more get 503 + Retry-After."})
    max_connections: int = field(default=256, metadata={"help": "Open connections in all."})
    client_connections: int = field(default=64, metadata={"help": "Open connections per client address."})
    request_timeout: float = field(default=10.0, metadata={
        "help": "Seconds a connection may take to send a whole request (or to read a reply)."})
    allowed_hosts: str = field(default="", metadata={
        "help": "Host names answered besides localhost with a loopback bind, comma-separated "
                "(e.g. the public name a reverse proxy passes on)."})

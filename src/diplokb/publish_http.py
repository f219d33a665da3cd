"""HTTP for `publish` and remote queries, with the guarantees publishing needs:

- only http:// and https:// URLs;
- a credential in the URL (`http://user:pass@host/...`) is taken out of it: it is sent as HTTP
  Basic auth, never becomes part of a host name (so never reaches DNS) and never appears in a
  message (every message goes through `Target.redact`);
- one `Deadline` for a whole job: every request gets only the time left, and a watchdog shuts
  the socket when it runs out, so a store that trickles its answer cannot stretch it;
- redirects are followed only within the same origin (scheme, host, port), and only when they
  keep the method (307/308; 301/302/303 for GET); any other redirect is refused with the reason.
"""
from __future__ import annotations

import base64
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from .errors import DiplokbError

MAX_REDIRECTS = 5


class PublishError(DiplokbError):
    """The store could not be reached, refused a request, or does not hold what was sent."""


class DeadlineError(PublishError):
    """The time limit of the whole job ran out."""


def _hide_userinfo(url: str) -> str:
    return re.sub(r"(//)[^/?#@]*@", r"\1***@", url)


@dataclass(frozen=True)
class Target:
    """A parsed http(s) URL without its credential."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    auth: str | None = field(default=None, repr=False)  # value of the Authorization header
    secrets: tuple = field(default=(), repr=False)  # strings never to show

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def url(self) -> str:
        """The URL as it may be shown: without the credential."""
        return self.origin + self.path

    def at(self, path: str) -> Target:
        return Target(self.scheme, self.host, self.port, path, self.auth, self.secrets)

    def with_query(self, **params: str) -> Target:
        sep = "&" if "?" in self.path else "?"
        return self.at(self.path + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))

    def redact(self, text: str) -> str:
        text = _hide_userinfo(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def parse_url(url: str, what: str = "store") -> Target:
    """Checks and splits a store or endpoint URL; PublishError if it is not http(s)."""
    shown = _hide_userinfo(url)
    if re.search(r"[^\x21-\x7e]", url):
        raise PublishError(f"the {what} URL {shown!r} holds a space, a control or a non-ASCII character; "
                           "percent-encode it (and give an internationalized host name in its xn-- form)")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PublishError(f"the {what} URL {shown} is not a valid URL: {_hide_userinfo(str(exc))}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise PublishError(f"the {what} URL {shown} is not an http:// or https:// URL")
    if not parts.hostname:
        raise PublishError(f"the {what} URL {shown} names no host")
    if parts.fragment:
        raise PublishError(f"the {what} URL {shown} has a fragment (#...); give the URL without it")
    auth, secrets = None, ()
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        auth = "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        raw_userinfo = parts.netloc.rsplit("@", 1)[0]
        secrets = tuple(s for s in {raw_userinfo, f"{user}:{password}", password, auth.split()[1],
                                    parts.password or ""} if s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path, auth, secrets)


@dataclass(frozen=True)
class Deadline:
    """A time limit for a whole job (not for each read)."""

    seconds: float
    end: float

    @classmethod
    def starting_now(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return self.end - time.monotonic()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    location: str | None = None

    @property
    def media(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def excerpt(self, target: Target, n: int = 200) -> str:
        return target.redact(self.body[:n].decode("utf-8", "replace"))


def request(target: Target, method: str, deadline: Deadline, *, data: bytes | None = None,
            headers: dict | None = None, limit: int = 1 << 30) -> Response:
    """One request, following same-origin redirects that keep the method."""
    current = target
    for _ in range(MAX_REDIRECTS + 1):
        resp = _once(current, method, deadline, data, headers or {}, limit)
        if resp.status not in (301, 302, 303, 307, 308) or resp.location is None:
            return resp
        current = _follow(current, method, resp)
    raise PublishError(f"{method} {target.url}: more than {MAX_REDIRECTS} redirects; give the final URL")


def _follow(current: Target, method: str, resp: Response) -> Target:
    where = urllib.parse.urljoin(current.url, resp.location)
    shown = current.redact(where)
    try:
        parts = urllib.parse.urlsplit(where)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PublishError(f"{method} {current.url} was redirected to an invalid URL {shown}") from None
    if (parts.scheme.lower(), (parts.hostname or "").lower(), port) != (current.scheme, current.host.lower(),
                                                                        current.port):
        raise PublishError(f"{method} {current.url} was redirected to another host or scheme ({shown}); "
                           f"diplokb does not follow redirects away from {current.origin}: "
                           "give the store's final URL if it is the one you meant")
    if parts.username is not None:
        raise PublishError(f"{method} {current.url} was redirected to a URL with a credential; refused")
    if resp.status in (301, 302, 303) and method not in ("GET", "HEAD"):
        raise PublishError(f"{method} {current.url} was answered {resp.status} (redirect to {shown}), which "
                           f"would turn {method} into GET; give the final URL")
    return current.at((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


def _once(target: Target, method: str, deadline: Deadline, data, headers: dict, limit: int) -> Response:
    what = f"{method} {target.url}"
    left = deadline.left()
    if left <= 0:
        raise DeadlineError(f"the time limit of {deadline.seconds:g} s ran out before {what}")
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=left,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=left)
    fired = threading.Event()
    opened: list = []  # the socket, kept here: http.client forgets it once the answer says "close"

    def abort():
        fired.set()
        for sock in opened or [conn.sock]:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(left, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        sent = {"Connection": "close", **headers}
        if target.auth:
            sent["Authorization"] = target.auth
        if data is not None:
            sent["Content-Length"] = str(len(data))
        conn.connect()
        opened.append(conn.sock)
        if fired.is_set():
            raise TimeoutError
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request(method, target.path, body=data, headers=sent)
        resp = conn.getresponse()
        chunks, size = [], 0
        while chunk := resp.read(1 << 16):
            size += len(chunk)
            if size > limit:
                raise PublishError(f"{what}: the answer is larger than {limit} bytes; refused")
            chunks.append(chunk)
        if fired.is_set():
            raise TimeoutError
        return Response(resp.status, b"".join(chunks), resp.getheader("Content-Type", "") or "",
                        resp.getheader("Location"))
    except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a header or URL http.client refuses
        if fired.is_set() or deadline.left() <= 0:
            raise DeadlineError(f"the time limit of {deadline.seconds:g} s ran out during {what}") from None
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        raise PublishError(target.redact(f"cannot reach {target.url} ({method}): {reason}")) from None
    finally:
        watchdog.cancel()
        conn.close()

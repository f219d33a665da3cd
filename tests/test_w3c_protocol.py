"""The W3C SPARQL 1.1 Protocol tests, read from their manifest, against `diplokb serve` on
loopback: every query-side test passes, every update test is refused (the KB is read-only).

The tests' data (data1-3.nt, one named graph each) goes into a temporary exports folder; so
does a triple in graph data0.rdf, which several tests name as default-graph-uri (the endpoint
refuses graphs it does not hold). Requests are sent as the manifest writes them, with the
Host header of the loopback server instead of 'www.example' (foreign hosts are refused).
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, RDF
from rdflib.collection import Collection

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT.parent / "shared" / "w3c" / "sparql" / "sparql11" / "protocol"
if not SUITE.is_dir():
    SUITE = Path("/work/shared/w3c/sparql/sparql11/protocol")
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
DATA = "http://kasei.us/2009/09/sparql/data/"


def _manifest():
    g = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    tests = []
    for t in g.subjects(RDF.type, MF.ProtocolTest):
        name = str(t).rsplit("#", 1)[-1]
        action = g.value(t, MF.action)
        requests = []
        for req in Collection(g, g.value(action, HT.requests)):
            body = g.value(req, HT.body)
            headers = {}
            hl = g.value(req, HT.headers)
            if hl is not None:
                for h in Collection(g, hl):
                    headers[str(g.value(h, HT.fieldName)).lower()] = str(g.value(h, HT.fieldValue))
            resp = g.value(req, HT.resp)
            requests.append({
                "method": str(g.value(req, HT.methodName)),
                "path": str(g.value(req, HT.absolutePath)),
                "headers": headers,
                "body": None if body is None else str(g.value(body, CNT.chars)).encode(
                    str(g.value(body, CNT.characterEncoding) or "UTF-8")),
                "status": {str(s).rsplit("#", 1)[-1] for s in g.objects(resp, MF.expectedStatus)},
                "format": str(g.value(resp, MF.expectedFormat) or ""),
                "boolean": g.value(resp, MF.expectedBoolean),
            })
        tests.append((name, requests))
    return sorted(tests)


TESTS = _manifest()


@pytest.fixture(scope="module")
def endpoint(built, tmp_path_factory):
    """`diplokb serve` (the real command) on the test suite's data."""
    exports = tmp_path_factory.mktemp("w3c-protocol")
    lines = []
    for n in (1, 2, 3):
        triples = (SUITE / f"data{n}.nt").read_text(encoding="utf-8").strip()
        lines.append(f"<{DATA}data{n}.rdf> {{\n{triples}\n}}")
    lines.append(f"<{DATA}data0.rdf> {{ <{DATA}data0.rdf> <{RDFS}comment> \"placeholder\" . }}")
    (exports / "diplokb.trig").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p, _ = built
    proc = subprocess.Popen([sys.executable, "-m", "diplokb", "serve", "--out", str(exports), "--port", str(port),
                             "--workers", "1"], cwd=p.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/sparql?query=ASK%7B%7D", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read())
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


def send(port: int, req: dict) -> tuple[int, dict, bytes]:
    """One raw HTTP/1.1 request, exactly as the manifest gives it."""
    lines = [f"{req['method']} {req['path']} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in req["headers"].items()]
    body = req["body"] or b""
    if req["body"] is not None or req["method"] in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, payload


def _status_ok(status: int, expected: set[str]) -> bool:
    return any(re.fullmatch(rf"StatusCode{str(status)[0]}xx", e) for e in expected)


def _boolean(ctype: str, body: bytes) -> bool:
    if "json" in ctype:
        return json.loads(body)["boolean"]
    text = body.decode()
    return "<boolean>true</boolean>" in text


@pytest.mark.parametrize("name,requests", TESTS, ids=[t[0] for t in TESTS])
def test_protocol(endpoint, name, requests):
    if name.startswith("update_"):
        # the KB is read-only: the update itself must be refused, and the data stays as it was
        status, _, body = send(endpoint, requests[0])
        assert 400 <= status < 500, (status, body)
        assert b"read-only" in body or b"update" in body.lower()
        return
    for req in requests:
        status, headers, body = send(endpoint, req)
        assert _status_ok(status, req["status"]), (status, body[:300])
        ctype = headers.get("content-type", "")
        if req["format"] == "boolean":
            assert ctype.startswith(("application/sparql-results+json", "application/sparql-results+xml"))
        elif req["format"] == "tabular":
            assert ctype.split(";")[0] in ("application/sparql-results+json", "application/sparql-results+xml",
                                           "text/csv", "text/tab-separated-values")
        elif req["format"] == "RDF":
            assert ctype.split(";")[0] in ("application/rdf+xml", "text/turtle", "application/n-triples")
            from rdflib import Graph as G
            G().parse(data=body.decode(), format={"text/turtle": "turtle", "application/n-triples": "nt",
                                                  "application/rdf+xml": "xml"}[ctype.split(";")[0]])
        if req["boolean"] is not None:
            assert _boolean(ctype, body) == bool(req["boolean"].toPython())


def test_every_manifest_test_is_run():
    assert len(TESTS) == 34
    assert sum(n.startswith("update_") for n, _ in TESTS) == 7

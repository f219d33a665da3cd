"""server.py over HTTP on 127.0.0.1: the SPARQL protocol, negotiation, pages and every limit."""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from diplokb.server import App, Settings, make_server


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    p, _ = built
    exports = tmp_path_factory.mktemp("served")
    for f in p.out.iterdir():
        shutil.copyfile(f, exports / f.name)
    # a label carrying markup, to check escaping
    trig = exports / "diplokb.trig"
    trig.write_text(trig.read_text(encoding="utf-8").replace(
        'rdfs:label "Mao Ning"', 'rdfs:label "Mao Ning<script>alert(1)</script>"'), encoding="utf-8")
    settings = Settings(port=0, timeout=2.0, max_rows=5, max_request_bytes=4000, workers=1,
                        allowed_hosts="kb.example")
    app = App(exports, p.queries_dir, settings)
    srv = make_server(app)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    app.close()


def get(url, accept=None, data=None, ctype=None, method=None):
    headers = {}
    if accept:
        headers["Accept"] = accept
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8")


Q = "SELECT ?name WHERE { id:hun-sen rdfs:label ?name }"


def test_get_select_defaults_to_sparql_json(server):
    status, headers, body = get(f"{server}/sparql?query={urllib.parse.quote(Q)}")
    assert status == 200
    assert headers["Content-Type"] == "application/sparql-results+json"
    assert json.loads(body)["results"]["bindings"] == [{"name": {"type": "literal", "value": "Hun Sen"}}]


@pytest.mark.parametrize("accept,ctype,needle", [
    ("application/sparql-results+xml", "application/sparql-results+xml", "<literal>Hun Sen</literal>"),
    ("text/csv", "text/csv; charset=utf-8", "name\r\nHun Sen\r\n"),
    ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8", '?name\n"Hun Sen"\n'),
])
def test_post_form_with_accept(server, accept, ctype, needle):
    data = urllib.parse.urlencode({"query": Q}).encode()
    status, headers, body = get(f"{server}/sparql", accept, data, "application/x-www-form-urlencoded")
    assert (status, headers["Content-Type"]) == (200, ctype)
    assert needle in body


def test_post_sparql_query_and_format_parameter(server):
    q = "CONSTRUCT { id:hun-sen rdfs:label ?n } WHERE { id:hun-sen rdfs:label ?n }"
    status, headers, body = get(f"{server}/sparql?format=nt", data=q.encode(), ctype="application/sparql-query")
    assert status == 200 and headers["Content-Type"] == "application/n-triples"
    assert body == '<https://w3id.org/diplokb/id/hun-sen> <http://www.w3.org/2000/01/rdf-schema#label> "Hun Sen" .\n'
    status, headers, body = get(f"{server}/sparql", "application/ld+json", q.encode(), "application/sparql-query")
    assert headers["Content-Type"] == "application/ld+json" and '"Hun Sen"' in body
    status, _, body = get(f"{server}/sparql?query={urllib.parse.quote('ASK { id:hun-sen ?p ?o }')}")
    assert json.loads(body) == {"head": {}, "boolean": True}


def test_entity_pages_negotiate(server):
    status, headers, body = get(f"{server}/id/prak-sokhonn", "text/html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "PRAK Sokhonn" in body and "Deputy Prime Minister" in body  # variants, posts via links
    assert "<blockquote>" in body or "Linked from" in body
    assert "href='/id/cambodia'" in body
    status, headers, body = get(f"{server}/id/prak-sokhonn", "text/turtle")
    assert headers["Content-Type"].startswith("text/turtle") and 'skos:altLabel "PRAK Sokhonn"' in body
    status, headers, body = get(f"{server}/id/prak-sokhonn", "application/ld+json")
    assert headers["Content-Type"] == "application/ld+json"
    status, headers, body = get(f"{server}/id/prak-sokhonn?format=nt")
    assert headers["Content-Type"] == "application/n-triples"
    status, _, body = get(f"{server}/id/courtesy-call-2023-07-24", "text/html")
    assert "courtesy call on 24 July 2023" in body and "/id/src-000" in body  # quote with its source
    assert get(f"{server}/id/no-such-thing", "text/html")[0] == 404


def test_ontology_negotiates(server):
    status, _, body = get(f"{server}/ontology", "text/html")
    assert status == 200 and "dkb:PostAttestation" in body
    status, headers, body = get(f"{server}/ontology", "text/turtle")
    assert status == 200 and "owl:Class" in body


def test_home_page(server):
    status, _, body = get(f"{server}/", "text/html")
    assert status == 200
    assert "<svg" in body and "Timeline" in body
    assert "href='/query/01-timeline'" in body and "href='/exports/diplokb.ttl'" in body
    assert "<textarea name=query" in body


def test_named_query_page_and_download(server):
    status, _, body = get(f"{server}/query/02-who-met-whom", "text/html")
    assert status == 200 and "Khuon Sudary" in body
    status, headers, body = get(f"{server}/exports/diplokb.nt")
    assert status == 200 and headers["Content-Type"] == "application/n-triples"


def test_labels_are_escaped(server):
    _, _, body = get(f"{server}/id/mao-ning", "text/html")
    assert "<script>" not in body and "&lt;script&gt;" in body
    _, _, body = get(f"{server}/sparql?format=html&query={urllib.parse.quote('SELECT ?l WHERE { id:mao-ning rdfs:label ?l }')}", "text/html")
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_updates_are_refused(server):
    status, _, body = get(f"{server}/sparql", data=b"INSERT DATA { <a:b> <a:c> <a:d> }", ctype="application/sparql-update")
    assert status == 400 and "read-only" in body
    data = urllib.parse.urlencode({"update": "DROP ALL"}).encode()
    assert get(f"{server}/sparql", data=data, ctype="application/x-www-form-urlencoded")[0] == 400
    data = urllib.parse.urlencode({"query": "DELETE WHERE { ?s ?p ?o }"}).encode()
    status, _, body = get(f"{server}/sparql", data=data, ctype="application/x-www-form-urlencoded")
    assert status == 400 and json.loads(body)["error"]["message"].startswith("updates are not allowed")
    assert get(f"{server}/id/hun-sen", method="PUT", data=b"x")[0] == 405
    # and the data is still there
    assert "Hun Sen" in get(f"{server}/sparql?query={urllib.parse.quote(Q)}")[2]


def test_service_is_refused(server):
    q = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    status, _, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}")
    assert status == 400 and "SERVICE" in body


def test_runaway_query_is_stopped_and_the_server_recovers(server):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    t0 = time.perf_counter()
    status, _, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}")
    elapsed = time.perf_counter() - t0
    assert status == 503 and "time limit of 2 s" in body
    assert elapsed < 15
    assert get(f"{server}/sparql?query={urllib.parse.quote(Q)}")[0] == 200  # a new worker answers


def test_row_cap(server):
    q = "SELECT ?s WHERE { ?s a dkb:Person }"
    status, headers, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}")
    assert len(json.loads(body)["results"]["bindings"]) == 5
    assert headers["X-Result-Truncated"] == "true"


def test_huge_body_and_url_are_refused(server):
    big = b"SELECT * WHERE { ?s ?p ?o } #" + b"x" * 10_000
    assert get(f"{server}/sparql", data=big, ctype="application/sparql-query")[0] == 413
    assert get(f"{server}/sparql?query=" + "x" * 10_000)[0] == 414


def test_no_file_outside_the_exports(server):
    for path in ("/exports/../pyproject.toml", "/exports/%2e%2e/README.md", "/exports/.hidden", "/../../etc/passwd"):
        assert get(f"{server}{path}")[0] == 404, path


def test_errors_share_one_json_shape(server):
    status, headers, body = get(f"{server}/sparql?query=SELECT")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert set(json.loads(body)["error"]) == {"status", "message"}


# ---- the dataset, as SPARQL defines it ----------------------------------------------------

G = "https://w3id.org/diplokb/id/graph/"


def _count(server, query, **params):
    qs = urllib.parse.urlencode({"query": query, **params}, doseq=True)
    status, _, body = get(f"{server}/sparql?{qs}")
    assert status == 200, body
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def test_from_and_protocol_graphs_define_the_dataset(server, store):
    import pyoxigraph as ox

    raw = store.store  # pyoxigraph itself, graph by graph, as the reference
    in_graph = lambda g: len(list(raw.quads_for_pattern(None, None, None, ox.NamedNode(G + g))))  # noqa: E731
    total = _count(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    src = in_graph("src-000")
    assert 0 < src < total
    # FROM one source's graph counts that graph only (the union used to override it)
    assert _count(server, f"SELECT (COUNT(*) AS ?n) FROM <{G}src-000> WHERE {{ ?s ?p ?o }}") == src
    # prefixed name and relative IRI in FROM resolve like any IRI (base: https://w3id.org/diplokb/)
    assert _count(server, "SELECT (COUNT(*) AS ?n) FROM <id/graph/src-000> WHERE { ?s ?p ?o }") == src
    # FROM NAMED alone: an empty default graph, and only that graph named
    assert _count(server, f"SELECT (COUNT(*) AS ?n) FROM NAMED <{G}src-000> WHERE {{ ?s ?p ?o }}") == 0
    assert _count(server, f"SELECT (COUNT(DISTINCT ?g) AS ?n) FROM NAMED <{G}src-000> "
                          "WHERE { GRAPH ?g { ?s ?p ?o } }") == 1
    # the protocol's graphs replace the query's FROM
    both = in_graph("src-000") + in_graph("src-001")
    assert _count(server, f"SELECT (COUNT(*) AS ?n) FROM <{G}entities> WHERE {{ ?s ?p ?o }}",
                  **{"default-graph-uri": [G + "src-000", G + "src-001"]}) <= both
    assert _count(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
                  **{"default-graph-uri": G + "src-000"}) == 0  # no named graphs given: none
    assert _count(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
                  **{"named-graph-uri": G + "src-001"}) == in_graph("src-001")


@pytest.mark.parametrize("query,params", [
    ("SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }", {}),
    ("SELECT * FROM NAMED <http://example.org/g> WHERE { ?s ?p ?o }", {}),
    ("ASK {}", {"default-graph-uri": "http://example.org/g"}),
    ("ASK {}", {"named-graph-uri": "file:///etc/passwd"}),
])
def test_graphs_outside_the_kb_are_refused(server, query, params):
    qs = urllib.parse.urlencode({"query": query, **params})
    status, _, body = get(f"{server}/sparql?{qs}")
    assert status == 400 and "is not in the KB" in body


def test_cli_query_takes_the_dataset_from_from(built):
    from click.testing import CliRunner

    from diplokb.cli import main

    p, _ = built
    runner = CliRunner()
    one = runner.invoke(main, ["query", "--out", str(p.out), "--format", "csv",
                               f"SELECT (COUNT(*) AS ?n) FROM <{G}src-000> WHERE {{ ?s ?p ?o }}"])
    every = runner.invoke(main, ["query", "--out", str(p.out), "--format", "csv",
                                 "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"])
    assert one.exit_code == every.exit_code == 0, one.output
    assert 0 < int(one.output.split()[1]) < int(every.output.split()[1])
    given = runner.invoke(main, ["query", "--out", str(p.out), "--format", "csv", "--default-graph", G + "src-000",
                                 "SELECT (COUNT(*) AS ?n) FROM <%sentities> WHERE { ?s ?p ?o }" % G])
    assert given.exit_code == 0 and given.output == one.output  # replaces the query's FROM
    bad = runner.invoke(main, ["query", "--out", str(p.out), "SELECT * FROM <http://x.example/> { ?s ?p ?o }"])
    assert bad.exit_code == 1 and "is not in the KB" in bad.output
    # a --format that does not fit the query's form is an error, not another format
    bad = runner.invoke(main, ["query", "--out", str(p.out), "--format", "ttl", "SELECT * { ?s ?p ?o } LIMIT 1"])
    assert bad.exit_code == 1 and "format 'ttl' does not fit" in bad.output


# ---- protocol details ----------------------------------------------------------------------

def test_service_hidden_from_a_regex_is_refused_and_nothing_is_fetched(server):
    import socket

    canary = socket.socket()
    canary.bind(("127.0.0.1", 0))
    canary.listen()
    canary.settimeout(1.0)
    port = canary.getsockname()[1]
    q = ("SELECT * WHERE { ?s ?p 'dkb:a\\'' . SERVICE <http://127.0.0.1:%d/> { ?s ?p ?o } . "
         "?s ?p 'dkb:b\\'' }" % port)
    status, _, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}")
    assert status == 400 and "SERVICE" in body
    # a codepoint escape is expanded before parsing, as SPARQL says: still SERVICE
    q = "SELECT * WHERE { SERVI\\u0043E <http://127.0.0.1:%d/> { ?s ?p ?o } }" % port
    status, _, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}")
    assert status == 400 and "SERVICE" in body
    with pytest.raises(socket.timeout):
        canary.accept()
    canary.close()


def test_protocol_errors(server):
    form = "application/x-www-form-urlencoded"
    assert get(f"{server}/sparql?query=ASK%7B%7D&query=ASK%7B%7D")[0] == 400
    assert get(f"{server}/sparql", data=b"query=ASK%7B%7D&update=CLEAR%20ALL", ctype=form)[0] == 400
    assert get(f"{server}/sparql?query=ASK%7B%7D", data=b"ASK {}", ctype="application/sparql-query")[0] == 400
    status, _, body = get(f"{server}/sparql", data="ASK {}".encode("utf-16"), ctype="application/sparql-query")
    assert status == 400 and "UTF-8" in body
    assert get(f"{server}/sparql", data=b"query=ASK%20%7B%7D%20%23%FF", ctype=form)[0] == 400
    assert get(f"{server}/sparql", data=b"ASK {}", ctype="text/plain")[0] == 415


def test_negotiation_vary_406_and_aliases(server):
    ask = urllib.parse.quote("ASK {}")
    status, headers, _ = get(f"{server}/sparql?query={ask}", "application/sparql-results+json")
    assert status == 200 and headers["Vary"] == "Accept"
    status, _, body = get(f"{server}/sparql?query={ask}", "image/png")
    assert status == 406 and "application/sparql-results+json" in body
    status, headers, body = get(f"{server}/sparql?query={ask}", "text/html")  # a browser's link
    assert status == 200 and headers["Content-Type"].startswith("text/html") and "true" in body
    status, _, _ = get(f"{server}/sparql?query={ask}&format=ttl")
    assert status == 406
    c = urllib.parse.quote("CONSTRUCT { id:hun-sen rdfs:label ?n } WHERE { id:hun-sen rdfs:label ?n }")
    for alias, ctype in [("json-ld", "application/ld+json"), ("rdf+xml", "application/rdf+xml"),
                         ("n-quads", "application/n-quads"), ("trig", "application/trig"),
                         ("turtle", "text/turtle; charset=utf-8")]:
        status, headers, body = get(f"{server}/sparql?query={c}&format={urllib.parse.quote(alias)}")
        assert (status, headers["Content-Type"]) == (200, ctype), alias
        assert "Hun Sen" in body
    status, headers, _ = get(f"{server}/sparql?query={c}", "application/rdf+xml")
    assert headers["Content-Type"] == "application/rdf+xml"


def test_cors_preflight_allow_and_no_banner(server):
    status, headers, _ = get(f"{server}/sparql", method="OPTIONS")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    status, headers, _ = get(f"{server}/sparql", method="DELETE")
    assert status == 405 and "POST" in headers["Allow"]
    status, headers, _ = get(f"{server}/id/hun-sen", method="PUT", data=b"x")
    assert status == 405 and headers["Allow"] == "GET, HEAD, OPTIONS"
    assert headers["Server"] == "diplokb"


def test_foreign_host_is_refused_on_loopback(server):
    import http.client

    port = int(server.rsplit(":", 1)[1])
    for host, expected in [("evil.example", 403), ("evil.example:%d" % port, 403), ("kb.example", 200),
                           ("localhost:%d" % port, 200), ("127.0.0.1", 200)]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.putrequest("GET", "/sparql?query=ASK%7B%7D", skip_host=True)
        c.putheader("Host", host)
        c.endheaders()
        assert c.getresponse().status == expected, host
        c.close()


def test_port_in_use_is_one_line_of_error(server, built):
    from click.testing import CliRunner

    from diplokb.cli import main

    p, _ = built
    port = server.rsplit(":", 1)[1]
    result = CliRunner().invoke(main, ["serve", "--out", str(p.out), "--port", port, "--workers", "1"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "already in use" in result.output


def test_symlinks_out_of_the_exports_are_not_served(built, tmp_path):
    p, _ = built
    exports = tmp_path / "exports"
    shutil.copytree(p.out, exports)
    (exports / "secret.ttl").symlink_to(p.root / "pyproject.toml")
    (exports / "inside.nt").symlink_to(exports / "diplokb.nt")
    from diplokb.server import downloads

    names = downloads(exports)
    assert "secret.ttl" not in names and "inside.nt" in names and "diplokb.trig" in names


@pytest.mark.parametrize("fmt, mime", [("ttl", "text/turtle"), ("nt", "application/n-triples"),
                                       ("jsonld", "application/ld+json"), ("trig", "application/trig")])
def test_construct_with_blank_nodes_is_served_and_parses(server, fmt, mime):
    """A CONSTRUCT template with blank nodes: one fresh blank node per solution, written by our
    writers and read back as the same graph (max_rows is 5 here, so three solutions of one triple each)."""
    import rdflib

    q = ("CONSTRUCT { _:n dkb:about ?p } "
         "WHERE { ?p a dkb:Person ; rdfs:label ?l } ORDER BY ?l LIMIT 3")
    status, headers, body = get(f"{server}/sparql?query={urllib.parse.quote(q)}&format={fmt}")
    assert status == 200, body
    assert headers["Content-Type"].startswith(mime)
    g = rdflib.Dataset() if fmt == "trig" else rdflib.Graph()
    g.parse(data=body, format={"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "trig": "trig"}[fmt])
    triples = list(g.quads() if fmt == "trig" else g)
    notes = {t[0] for t in triples}
    assert len(triples) == 3 and len(notes) == 3 and all(isinstance(n, rdflib.BNode) for n in notes)


def test_worker_count_default_leaves_one_worker_beyond_the_cores(monkeypatch):
    """--workers 0 (the default): one per CPU plus the reserve a single client cannot take, so
    one client's parallel queries can use every core and another client still finds a worker."""
    import os

    from diplokb.settings import Settings, worker_count

    assert Settings().workers == 0
    assert worker_count(3) == 3 and worker_count(1) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert worker_count(0) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert worker_count(0) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert worker_count(0) == 9


@pytest.mark.parametrize("size", [0, 10, 65_530, 300_000])
def test_the_server_reads_a_worker_reply_whole_whatever_its_size(size):
    """The worker frames its reply with multiprocessing's Connection; the server reads it off
    the socket itself (fewer calls): every byte, and only those, whatever the size."""
    import multiprocessing as mp
    import os
    import socket

    from diplokb.querypool import _recv_message

    ours, theirs = mp.Pipe()
    sock, pending = socket.socket(fileno=os.dup(ours.fileno())), bytearray()
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sender = threading.Thread(target=lambda: (theirs.send_bytes(payload), theirs.send_bytes(b"next")))
    sender.start()
    assert _recv_message(sock, pending) == payload
    assert _recv_message(sock, pending) == b"next"  # (sent at once after it: nothing lost)
    sender.join()
    theirs.close()
    with pytest.raises(EOFError):
        _recv_message(sock, pending)
    sock.close()
    ours.close()


def test_nesting_refusal_is_exact_whatever_the_bracket_count():
    """The depth walk is skipped for texts with at most 400 opening brackets; a text with more
    is still walked: 401 deep is refused (naming its depth), 400 deep and many shallow
    brackets are not."""
    from diplokb.analysis import MAX_NESTING, Analysis, Refusal, analyse

    def deep(n):
        return "ASK { FILTER(" + "(" * (n - 2) + "1" + ")" * (n - 2) + ") }"

    over = analyse(deep(MAX_NESTING + 1))
    assert isinstance(over, Refusal) and over.kind == "nesting" and f"{MAX_NESTING + 1} deep" in over.message
    assert analyse(deep(MAX_NESTING)) == Analysis("")
    many = "ASK { " + " ".join(f"FILTER(({i}))" for i in range(300)) + " }"  # 601 openings, 3 deep
    assert analyse(many) == Analysis("")
    brackets_in_a_string = 'ASK { FILTER("' + "[" * 500 + '" != "") }'  # counted, as before
    refused = analyse(brackets_in_a_string)
    assert isinstance(refused, Refusal) and refused.kind == "nesting"


def test_an_ipv6_loopback_bind_answers_queries_and_refuses_a_foreign_host(built):
    """`diplokb serve --host ::1` (or `[::1]`) listens on IPv6 and keeps the loopback Host check."""
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    p, _ = built
    for host in ("::1", "[::1]"):
        app = App(p.out, p.queries_dir, Settings(host=host, port=0, workers=1))
        srv = make_server(app)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = f"http://[::1]:{srv.server_address[1]}/sparql?query={urllib.parse.quote(Q)}"
            status, _, body = get(url, accept="application/sparql-results+json")
            assert status == 200 and "Hun Sen" in body
            req = urllib.request.Request(url, headers={"Host": "evil.example"})
            try:
                urllib.request.urlopen(req, timeout=30)
                raise AssertionError("a foreign Host was answered")
            except urllib.error.HTTPError as e:
                assert e.code == 403, e.code
        finally:
            srv.shutdown()
            srv.server_close()
            app.close()


def test_every_spelling_of_the_loopback_is_loopback():
    """A loopback bind turns the Host check (DNS rebinding) on: no spelling of it may slip by."""
    from diplokb.httpd import is_loopback

    for host in ("localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1",
                 "[0:0::1]", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "[::]", "10.0.0.1", "kb.example", "::ffff:10.0.0.1", "fe80::1", "x:y"):
        assert not is_loopback(host), host

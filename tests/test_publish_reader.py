"""remote_query reads the live build only, and runs again if a publish switched builds while
the query ran: against a fake SPARQL endpoint on loopback whose pointer graph changes."""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fakestore import FakeStore

from diplokb.publish import PublishError, publish_graphs, remote_query

BUILD = "https://w3id.org/diplokb/id/build/"


class FakeEndpoint:
    """Answers the pointer query with the next of `pointers` (a build digest and a publication
    number, or None for no pointer; the last one repeats) and any other query with one row."""

    def __init__(self, pointers, listing=None):
        self.pointers, self.queries, self.listing = list(pointers), [], listing
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if "currentBuild" in form["query"][0]:
                    state = fake.pointers.pop(0) if len(fake.pointers) > 1 else fake.pointers[0]
                    rows = [] if state is None else [
                        {"build": {"type": "uri", "value": BUILD + state[0]},
                         "n": {"type": "literal", "value": str(state[1])},
                         "g": {"type": "uri", "value": f"{BUILD}{state[0]}/graph/{name}"}}
                        for name in ("entities", "src-000")]
                    body = {"head": {"vars": ["build", "n", "g"]}, "results": {"bindings": rows}}
                elif fake.listing is not None and "STRSTARTS" in form["query"][0]:
                    rows = [{"g": {"type": "uri", "value": g}, "n": {"type": "literal", "value": str(n)}}
                            for g, n in fake.listing.items()]
                    body = {"head": {"vars": ["g", "n"]}, "results": {"bindings": rows}}
                else:
                    fake.queries.append(form)
                    body = {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]}}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/query"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(request):
    fake = FakeEndpoint(request.param)
    yield fake
    fake.stop()


@pytest.mark.parametrize("endpoint", [[("aa", 1), ("bb", 2), ("bb", 2)]], indirect=True)
def test_a_switch_during_the_query_runs_it_again_on_the_new_build(endpoint):
    rows = list(remote_query(endpoint.url, "SELECT ?x WHERE { ?x ?p ?o }"))
    assert [r["x"].value for r in rows] == ["1"]
    assert len(endpoint.queries) == 2
    last = endpoint.queries[-1]
    assert last["default-graph-uri"] == [f"{BUILD}bb/graph/entities", f"{BUILD}bb/graph/src-000"]
    assert last["named-graph-uri"] == last["default-graph-uri"]
    assert all(g.startswith(BUILD + "aa/") for g in endpoint.queries[0]["default-graph-uri"])


@pytest.mark.parametrize("endpoint", [[("aa", 1), ("aa", 2), ("aa", 3), ("aa", 4), ("aa", 5), ("aa", 6), ("aa", 7)]],
                         indirect=True)
def test_a_store_republished_during_every_attempt_is_an_error_not_an_answer(endpoint):
    """The same build published again (its graphs removed and written back in between) counts as a
    switch too: only the publication number tells."""
    with pytest.raises(PublishError, match="switched builds during each of 3 attempts"):
        remote_query(endpoint.url, "SELECT ?x WHERE { ?x ?p ?o }")


@pytest.mark.parametrize("endpoint", [[None]], indirect=True)
def test_a_store_without_a_diplokb_pointer_is_queried_as_it_is(endpoint):
    assert len(list(remote_query(endpoint.url, "SELECT ?x WHERE { ?x ?p ?o }"))) == 1
    assert "default-graph-uri" not in endpoint.queries[0] and "named-graph-uri" not in endpoint.queries[0]


def test_an_endpoint_whose_graph_list_disagrees_fails_the_publish():
    """The Graph Store Protocol side holds the build; the endpoint given for it lists one graph
    with a triple missing (or answers something else entirely): the publish is not reported."""
    graph = "https://w3id.org/diplokb/id/graph/src-000"
    data = b"<urn:a> <urn:b> <urn:c> .\n<urn:a> <urn:b> <urn:d> .\n"
    store, endpoint = FakeStore(), FakeEndpoint([None], listing={})
    try:
        report = publish_graphs({graph: data}, store.url)
        (name, n), = report.graphs
        endpoint.listing = {name: n - 1}
        with pytest.raises(PublishError, match=rf"lists 1 diplokb graph\(s\) besides the pointer, 1 expected; "
                                               rf"first difference: <{name}> holds 1 triples there, 2 expected"):
            publish_graphs({graph: data}, store.url, endpoint=endpoint.url)
        endpoint.listing = None  # answers ?x = 1 to every query
        with pytest.raises(PublishError, match="did not answer the list of graphs"):
            publish_graphs({graph: data}, store.url, endpoint=endpoint.url)
    finally:
        store.stop()
        endpoint.stop()

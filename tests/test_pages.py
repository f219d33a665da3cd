"""The pages (src/diplokb/pages/) over the real KB: what a reader sees on each page kind."""
from __future__ import annotations

import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from diplokb.pages import PageContext, PageError, render
from diplokb.query import Store, named_queries

ID = "https://w3id.org/diplokb/id/"


@pytest.fixture(scope="module")
def ctx(built, store):
    p, _ = built
    downloads = tuple(sorted(f.name for f in p.out.iterdir()))
    return PageContext(store, named_queries(p.queries_dir), downloads, p.kb)


def main_part(page: str) -> str:
    """The page without its raw-triples box."""
    return page.split("<details id=raw>")[0]


def values(store, sparql: str, name: str) -> set[str]:
    return {sol[name].value for sol in store.query(sparql)}


# -- source reader -------------------------------------------------------------------------

def test_source_reader_highlights_every_quote_and_links_both_ways(ctx, store):
    page = render(ctx, "/id/src-000")
    evidence = values(store, "SELECT ?e WHERE { ?e dkb:source id:src-000 ; dkb:quote ?q }", "e")
    assert len(evidence) > 10
    for ev in evidence:
        key = ev.rsplit("/", 1)[-1]
        assert page.count(f"id='q-{key}' href='#f-{key}'") == 1, key  # its span in the text, numbered
        assert f"<li id='f-{key}'><a href='#q-{key}'>" in page  # the fact list links back
        assert f"href='#f-{key}'" in page  # the highlight links to its facts
    # laid out as the document: headings and paragraphs, markup remnants visible as such
    assert "<h3>PRESS RELEASE</h3>" in page
    assert "<span class=markup>**</span>" in page
    assert page.count("<p>") >= 6
    assert "“Cambodia, China to further deepen partnership amid diplomatic anniversary” <span class=muted>(as printed)" in page
    assert "24 July 2023" in page and "press release" in page
    assert "· verified" in page


def test_untitled_source_says_what_is_not_known(ctx):
    page = render(ctx, "/id/src-004")
    assert "<i>untitled</i>" in page and "<h1><i>Untitled</i>" in page
    unknown = page.split("What the KB does not know</h2>")[1].split("</ul>")[0]
    assert "its title: none is printed" in unknown
    assert "who published it: Not stated." in unknown
    assert "its exact date: it is known only as a range" in unknown
    assert "30 November 2024 – 1 December 2024" in page


def test_source_text_that_changed_is_refused(built, store, tmp_path):
    p, _ = built
    shutil.copytree(p.kb, tmp_path / "kb")
    text = next((tmp_path / "kb").rglob("000_*.txt"))
    text.write_text(text.read_text(encoding="utf-8").replace("PRESS RELEASE", "PRESS RELEASED"), encoding="utf-8")
    page = render(PageContext(store, kb=tmp_path / "kb"), "/id/src-000")
    assert "does not match the SHA-256" in page and "PRESS RELEASED" not in page
    assert "class=doc" not in page
    page = render(PageContext(store), "/id/src-000")
    assert "not available here" in page
    assert "Facts from this source" in page  # the quotes are still listed, unlocated


def test_quotes_on_entity_pages_link_to_their_span(ctx):
    page = render(ctx, "/id/courtesy-call-2023-07-24")
    links = re.findall(r"href='(/id/src-\d+)#(q-[^']+)'", page)
    assert links
    for path, anchor in set(links):
        assert f"id='{anchor}'" in render(ctx, path)


# -- profiles ------------------------------------------------------------------------------

def test_person_profile(ctx):
    page = render(ctx, "/id/hun-sen")
    main = main_part(page)
    assert "<h1>Hun Sen</h1>" in page
    assert "<dt>Also known as</dt>" in main and "<dt>Honorifics</dt>" in main
    assert "skos:altLabel" not in main and "schema:honorificPrefix" not in main
    assert "skos:altLabel" in page.split("<details id=raw>")[1]  # raw triples one click away
    posts = main.split("Posts, as each source names them")[1].split("</table>")[0]
    dates = re.findall(r"<tr><td>([^<]+)", posts)
    assert dates[0].startswith("8 November 2022") and dates[-1].startswith("30 November 2024")
    assert "“Cambodian Prime Minister”" in posts and "“the President of the Senate”" in posts
    events = main.split("<h2>Events</h2>")[1].split("</table>")[0]
    assert events.index("Official visit of Premier Li Keqiang") < events.index("Official and goodwill visit of Hun Sen")
    assert "tag announced'>announced" in events and "head of delegation" in events
    assert "not dated; between" in events  # a sub-event the text bounds ('during the visit') shows its bounds
    assert "<h2>Statements made</h2>" in main and "<h3>Accepted" in main
    assert "<h2>Counterparts met</h2>" in main and "Xi Jinping" in main.split("Counterparts met")[1]


def test_organization_and_thing_profiles(ctx, store):
    page = main_part(render(ctx, "/id/cpp"))
    assert "<h2>Posts and members</h2>" in page
    members = page.split("Posts and members")[1]
    assert "Hun Sen" in members and "Prak Sokhonn" in members
    parts = values(store, "SELECT ?x WHERE { ?x org:subOrganizationOf id:cpp }", "x")
    for part in parts:
        assert f"href='/id/{part[len(ID):]}'" in page
    thing = main_part(render(ctx, "/id/comprehensive-strategic-partnership"))
    assert "Statements addressed to or naming it" in thing or "<h2>Events</h2>" in thing


def test_concept_and_scheme_pages(ctx):
    concept = render(ctx, "/vocab/event-kind/courtesy-call")
    assert "<dt>Definition</dt>" in concept and "042" in concept
    assert "Courtesy call of Qian Hongshan on Prak Sokhonn" in concept
    scheme = render(ctx, "/vocab/event-kind")
    assert "CAMEO code" in scheme and "href='/vocab/event-kind/courtesy-call'" in scheme
    assert "href='/vocab/event-kind'" in render(ctx, "/vocab/")


def test_ontology_shows_domains_and_ranges(ctx):
    page = render(ctx, "/ontology")
    row = page.split("<span id='speaker'>")[1].split("</tr>")[0]
    assert "href='#Statement'" in row and "href='#Agent'" in row or "href='#Person'" in row
    assert "<span id='Person'>" in page
    home = render(ctx, "/")
    assert "href='/ontology'" in home and "href='/vocab/'" in home


def test_differences_side_by_side(ctx, store):
    page = render(ctx, "/differences")
    says = values(store, "SELECT ?s WHERE { ?c a dkb:Claim ; dkb:says ?s }", "s")
    assert says
    from diplokb.pages.html import esc
    for s in says:
        assert esc(s) in page
    assert "<div class=claims>" in page and "in the text</a>" in page


# -- search and index ----------------------------------------------------------------------

@pytest.mark.parametrize("q", ["prak sokhonn", "PRAK Sokhonn", "Prák Sókhonn", "  prak   SOKHONN "])
def test_search_is_case_and_accent_insensitive(ctx, q):
    page = render(ctx, "/search", {"q": [q]})
    first = re.search(r"<ul><li><a href='([^']+)'", page).group(1)
    assert first == "/id/prak-sokhonn"


def test_search_finds_variants_and_suggests(ctx):
    assert "/id/hun-sen'" in render(ctx, "/search", {"q": ["Samdech Techo"]})
    assert "/id/cpp'" in render(ctx, "/search", {"q": ["CPP"]})
    miss = render(ctx, "/search", {"q": ["Prek Sokhon"]})
    assert "No name matches" in miss and "Did you mean" in miss and "prak sokhonn" in miss.lower()
    assert "No name matches" in render(ctx, "/search", {"q": ["<script>x</script>"]})
    assert "<script>x" not in render(ctx, "/search", {"q": ["<script>x</script>"]})


def test_index_lists_every_entity_by_class(ctx, store):
    page = render(ctx, "/id/")
    people = values(store, "SELECT ?p WHERE { ?p a dkb:Person }", "p")
    section = page.split("<h2 id='Person'>")[1].split("</ul>")[0]
    assert len(re.findall("<li>", section)) == len(people)
    assert "<h2 id='Organization'>" in page and "<h2 id='Event'>" in page


# -- questions -----------------------------------------------------------------------------

def test_question_form_and_parameters(ctx):
    page = render(ctx, "/query/04-post-holder-on-date")
    assert "<select id='param-post' name='post'>" in page
    assert "<option value='prime-minister-of-cambodia' selected>" in page
    assert "<option value='president-of-the-senate'>" in page
    assert "<input id='param-when' name='when' value='2022-11'" in page
    assert "href='/query/04-post-holder-on-date?format=csv'" in page
    asked = render(ctx, "/query/04-post-holder-on-date", {"post": ["president-of-the-senate"], "when": ["2024-12"]})
    answer = asked.split("<h2>Answer</h2>")[1]
    assert "href='/id/hun-sen'>Hun Sen</a>" in answer
    assert "format=csv&amp;post=president-of-the-senate&amp;when=2024-12" in asked
    assert "<option value='president-of-the-senate' selected>" in asked
    # sources are linked by their title
    assert ">A Delegation Led by Qian Hongshan Visits Cambodia to Observe General Election</a>" in \
        render(ctx, "/query/02-who-met-whom")


@pytest.mark.parametrize("params, message", [
    ({"persn": ["hun-sen"]}, "unknown parameter(s) persn"),
    ({"post": ["hun-sen"]}, "'hun-sen' is not a post"),
    ({"when": ["2022-13"]}, "'2022-13' is not a date"),
    ({"when": ["November"]}, "is not a date"),
    ({"when": ["2022", "2023"]}, "given 2 times"),
])
def test_question_parameters_are_checked(ctx, params, message):
    with pytest.raises(PageError) as exc:
        render(ctx, "/query/04-post-holder-on-date", params)
    assert exc.value.status == 400 and message in exc.value.message.lower()


def test_unknown_pages_and_parameters(ctx):
    for path, params, status in (("/query/nope", {}, 404), ("/nope", {}, 404), ("/id/nobody", {}, 404),
                                 ("/timeline", {"x": ["1"]}, 400), ("/network", {"year": ["1999"]}, 400),
                                 ("/id/hun-sen", {"lang": ["fr"]}, 400)):
        with pytest.raises(PageError) as exc:
            render(ctx, path, params)
        assert exc.value.status == status, path


# -- timeline and network ------------------------------------------------------------------

def test_timeline_draws_every_dated_event_at_its_precision(ctx, store):
    page = render(ctx, "/timeline")
    svg = page.split("<svg")[1].split("</svg>")[0]
    dated = values(store, "SELECT ?e WHERE { ?e a dkb:Event . { ?e dkb:date ?d } UNION { ?e dkb:startDate ?d } }", "e")
    for e in dated:
        assert f"href='/id/{e[len(ID):]}'" in svg, e
    assert len(dated) >= 8
    # a year-precision date is a diamond labelled 'year', never a bar a year long
    row = svg.split("2016 (year) — Signing of the Comprehensive Strategic Partnership")[1].split("</a>")[0]
    assert "<path d=" in row and ">year</text>" in row and "<rect" not in row
    # sub-events come right after their visit, indented
    visit = svg.index("Visit of a delegation led by Qian Hongshan")
    assert visit < svg.index("Courtesy call of Qian Hongshan") < svg.index("24 July 2023 — Regular press conference")
    assert "(announced)" in svg and "fill='#fff' stroke='#b35900'" in svg
    assert "announced or planned" in svg  # the legend
    # the axis starts where the data starts (the first event's month), not 60 days before
    assert "aria-label='Timeline of events from January 2016" in svg
    # an event the text only bounds is placed, as an outline over its bounds, and said to be undated
    bounded = values(store, "SELECT ?e WHERE { ?e a dkb:Event ; dkb:notBefore ?a ; dkb:notAfter ?b "
                            "FILTER NOT EXISTS { ?e dkb:subEventOf ?p } }", "e")
    assert bounded
    for e in bounded:
        row = svg.split(f"href='/id/{e[len(ID):]}'")[1].split("</a>")[0]
        assert "not dated; between" in row and "fill='none'" in row and "stroke-dasharray='2 2'" in row, e
    assert "Events without a date" in page and "Seventh general election" not in page.split("Events without a date")[1]


def test_network_and_year_filter(ctx):
    page = render(ctx, "/network")
    assert page.count("<circle") >= 6 and "Meetings by pair" in page
    y2023 = render(ctx, "/network", {"year": ["2023"]})
    assert "Qian Hongshan" in y2023 and "Li Keqiang" not in y2023.split("<svg")[1]
    assert "Li Keqiang" in page.split("<svg")[1]


# -- safety --------------------------------------------------------------------------------

def test_labels_are_escaped_everywhere(built, tmp_path):
    p, _ = built
    trig = tmp_path / "diplokb.trig"
    trig.write_text((p.out / "diplokb.trig").read_text(encoding="utf-8").replace(
        'rdfs:label "Hun Sen"', "rdfs:label \"Hun Sen<script>alert(1)</script>'\""), encoding="utf-8")
    store = Store([trig, p.out / "ontology.ttl", p.out / "vocabularies.ttl"])
    ctx = PageContext(store, named_queries(p.queries_dir), (), p.kb)
    for path in ("/", "/id/hun-sen", "/id/", "/timeline", "/network", "/differences", "/query/13-meetings-of-person",
                 "/id/src-003", "/search/h"):
        page = render(ctx, path)
        assert "<script>" not in page, path
    assert "Hun Sen&lt;script&gt;" in render(ctx, "/id/hun-sen")


# -- over HTTP -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(built):
    from diplokb.server import App, Settings, make_server

    p, _ = built
    app = App(p.out, p.queries_dir, Settings(port=0, workers=1), kb=p.kb)
    srv = make_server(app)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    app.close()


def fetch(url: str, accept: str = "text/html"):
    req = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8")


def test_http_routes(server):
    for path in ("/", "/id/", "/id/hun-sen", "/id/src-001", "/search?q=hun", "/search/", "/search/h", "/timeline",
                 "/network?year=2023", "/differences", "/vocab/", "/vocab/event-kind", "/ontology",
                 "/query/04-post-holder-on-date?post=president-of-the-senate&when=2024-12"):
        status, ctype, body = fetch(server + path)
        assert status == 200 and ctype.startswith("text/html"), path
    status, _, body = fetch(server + "/query/04-post-holder-on-date?persn=x")
    assert status == 400 and "unknown parameter(s) persn" in body
    status, ctype, body = fetch(server + "/query/04-post-holder-on-date?format=csv&post=president-of-the-senate&when=2024-12")
    assert status == 200 and ctype.startswith("text/csv") and "Hun Sen" in body and "Prime Minister" not in body
    status, ctype, body = fetch(server + "/query/04-post-holder-on-date?format=json&post=nobody", "application/json")
    assert status == 400 and '"status": 400' in body
    status, ctype, _ = fetch(server + "/id/hun-sen?format=ttl")
    assert status == 200 and ctype.startswith("text/turtle")
    assert Path  # (pathlib used by fixtures above)


@pytest.mark.parametrize("iri", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "urn:x"])
def test_an_iri_that_is_not_http_is_never_a_link(ctx, iri):
    from diplokb.pages.html import link

    out = link(ctx, iri, "x")
    assert "href" not in out and "<span" in out
    assert link(ctx, "https://example.org/a", "x").startswith("<a href='https://example.org/a'")

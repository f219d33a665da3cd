"""`diplokb site`: the static site of the real KB, every internal link resolving."""
from __future__ import annotations

import posixpath
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb.cli import main
from diplokb.site import SiteError, relative, target


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.forms: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("href", "src", "action"):
            if k in a:
                self.links.append(a[k])
        if tag == "form":
            self.forms.append(a.get("action", ""))


@pytest.fixture(scope="module")
def site(built, tmp_path_factory):
    p, _ = built
    out = tmp_path_factory.mktemp("site") / "kb-site"
    result = CliRunner().invoke(main, ["site", str(out), "--out", str(p.out)])
    assert result.exit_code == 0, result.output
    assert "pages" in result.output
    return out


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_internal_link_resolves(site):
    pages = sorted(p.resolve() for p in site.rglob("*.html"))
    assert len(pages) > 100
    parsed = {p: _parse(p) for p in pages}
    broken = []
    checked = 0
    for page, links in parsed.items():
        for href in links.links:
            if href.startswith(("http://", "https://", "mailto:")):
                continue
            assert not href.startswith("/"), f"{page}: root-relative link {href} breaks under a sub-path"
            file, _, frag = href.partition("#")
            dest = (page.parent / urllib.parse.unquote(file)).resolve() if file else page
            checked += 1
            if not dest.is_file():
                broken.append(f"{page} -> {href}")
            elif frag and dest.suffix == ".html":
                ids = parsed[dest].ids if dest in parsed else _parse(dest).ids
                if frag not in ids:
                    broken.append(f"{page} -> {href} (no id '{frag}')")
    assert checked > 5000
    assert not broken, "\n".join(broken[:20])


def test_site_has_every_page_kind_downloads_and_no_live_forms(site):
    for rel in ("index.html", "id/index.html", "id/hun-sen.html", "id/src-000.html", "timeline.html",
                "network.html", "network/2023.html", "differences.html", "vocab/index.html",
                "vocab/event-kind/courtesy-call.html", "ontology.html", "search/index.html", "search/p.html",
                "query/04-post-holder-on-date.html", "query/04-post-holder-on-date.csv",
                "query/04-post-holder-on-date.json", "id/hun-sen.ttl", "exports/diplokb.ttl"):
        assert (site / rel).is_file(), rel
    # no page posts to a server that is not there
    assert all(not _parse(p).forms for p in site.rglob("*.html"))
    names = (site / "search" / "p.html").read_text(encoding="utf-8")
    assert "PRAK Sokhonn" in names and "../id/prak-sokhonn.html" in names
    csv = (site / "query" / "04-post-holder-on-date.csv").read_text(encoding="utf-8")
    assert csv.splitlines()[0] == "person,name,asNamed,attested,source" and "Hun Sen" in csv


def test_rewriting_links_to_relative_paths():
    assert target("/") == "index.html"
    assert target("/id/") == "id/index.html"
    assert target("/id/hun-sen") == "id/hun-sen.html"
    assert target("/id/src-000#q-src-000-ab") == "id/src-000.html#q-src-000-ab"
    assert target("/query/x?format=csv") == "query/x.csv"
    assert target("/network?year=2023") == "network/2023.html"
    page = "<a href='/id/hun-sen'>x</a><a href='/'>home</a><a href='/query/q?format=json&amp;a=b'>"
    with pytest.raises(SiteError, match="cannot serve"):
        relative(page, "id/x.html")
    assert relative(page.rsplit("<a href='/query", 1)[0], "id/x.html") == \
        "<a href='hun-sen.html'>x</a><a href='../index.html'>home</a>"
    assert posixpath.relpath("index.html", "vocab/event-kind") == "../../index.html"


def test_refuses_a_folder_it_did_not_write(built, tmp_path):
    p, _ = built
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["site", str(tmp_path), "--out", str(p.out)])
    assert result.exit_code == 1 and "not written by 'diplokb site'" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep me"

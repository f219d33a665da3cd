"""The pages in a real browser: headless Chromium (Debian's) driven by Playwright, with
axe-core (installed by `make test` from the npm registry into build/npm) checking each page
kind for accessibility. In CI a missing browser or axe-core fails the run; elsewhere the
tests are skipped with the reason. `make screenshots` (DIPLOKB_SCREENSHOTS=DIR) also saves each
page kind as a PNG in DIR.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ["DIPLOKB_SCREENSHOTS"]) if os.environ.get("DIPLOKB_SCREENSHOTS") else None  # make screenshots
AXE = ROOT / "build" / "npm" / "node_modules" / "axe-core" / "axe.min.js"

# One page of each kind: (screenshot name, path).
KINDS = [("home", "/"), ("index", "/id/"), ("person", "/id/hun-sen"), ("organization", "/id/cpp"),
         ("thing", "/id/comprehensive-strategic-partnership"), ("event", "/id/courtesy-call-2023-07-24"),
         ("source", "/id/src-000"), ("source-untitled", "/id/src-004"), ("search", "/search?q=prak+sokhonn"),
         ("search-miss", "/search?q=Prek+Sokhon"), ("question", "/query/04-post-holder-on-date"),
         ("timeline", "/timeline"), ("network", "/network"), ("differences", "/differences"),
         ("vocabularies", "/vocab/"), ("scheme", "/vocab/event-kind"), ("concept", "/vocab/event-kind/courtesy-call"),
         ("ontology", "/ontology"), ("error", "/query/04-post-holder-on-date?persn=x")]


def _skip_or_fail(problem: str):
    if os.environ.get("CI") == "true":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def site(built):
    import importlib.util

    if not Path(CHROMIUM).exists():
        _skip_or_fail("Debian's chromium is not installed (make test installs it as root)")
    if importlib.util.find_spec("playwright") is None:
        _skip_or_fail("playwright is not installed")
    p, _ = built
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "diplokb", "serve", "--out", str(p.out), "--port", str(port)],
                            cwd=p.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    if not wait_until_up(base + "/"):
        proc.kill()
        pytest.fail("server did not start: " + proc.stderr.read().decode())
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser):
    """A page under the server's CSP; any console error (a CSP refusal...) is recorded."""
    pg = browser.new_page(viewport={"width": 1200, "height": 900})
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error"
          and not m.text.startswith("Failed to load resource") else None)  # those are counted below
    pg.on("response", lambda r: pg.errors.append(f"{r.status} {r.url}") if r.status >= 400
          and not r.url.endswith("/favicon.ico") and r.request.resource_type != "document" else None)
    yield pg
    pg.close()


def test_walk_every_page_kind(site, page):
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in KINDS:
        page.errors.clear()
        response = page.goto(site + path)
        assert response.status == (400 if name == "error" else 200), path
        h1 = page.locator("h1").inner_text()
        assert h1.strip(), path
        if name != "error":
            assert not page.errors, (path, page.errors)
        if SHOTS:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
            assert (SHOTS / f"{name}.png").stat().st_size > 5_000
    assert page.title() == "400 Bad Request · diplokb"


def test_home_to_person_by_links(site, page):
    page.goto(site + "/")
    assert page.title() == "diplokb · diplokb"
    page.click("text=Who met whom during a visit")
    page.wait_for_selector("table")
    cells = page.locator("table td").all_inner_texts()
    assert "Khuon Sudary" in cells and "Suos Yara" in cells
    page.click("a[href='/id/courtesy-call-2023-07-24'] >> nth=0")
    page.wait_for_selector("blockquote")
    assert "courtesy call on 24 July 2023" in page.locator("blockquote").first.inner_text()
    page.click("a[href='/id/prak-sokhonn'] >> nth=0")
    assert page.locator("h1").inner_text() == "Prak Sokhonn"
    assert "PRAK Sokhonn" in page.content()


def test_submit_question_form_and_search(site, page):
    page.goto(site + "/query/04-post-holder-on-date")
    page.select_option("select[name=post]", "president-of-the-senate")
    page.fill("input[name=when]", "2024-12")
    page.click("form.params button[type=submit]")
    page.wait_for_url("**when=2024-12**")
    answer = page.locator("table").first.inner_text()
    assert "Hun Sen" in answer and "the President of the Senate" in answer
    assert page.locator("select[name=post]").input_value() == "president-of-the-senate"
    page.fill("header input[name=q]", "PRÁK sokhonn")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=**")
    page.click("main ul li a >> nth=0")
    assert page.locator("h1").inner_text() == "Prak Sokhonn"


def test_follow_a_quote_to_its_span_and_back(site, page):
    page.goto(site + "/id/courtesy-call-2023-07-24")
    page.click("blockquote a:has-text('in the text') >> nth=0")
    page.wait_for_url("**/id/src-000#q-*")
    anchor = page.url.split("#", 1)[1]
    # the span is there, in the text, and is the target
    assert page.locator(f"article.doc a.qn[id='{anchor}']").count() == 1
    assert page.evaluate(f"document.getElementById('{anchor}').matches(':target')")
    assert page.locator(f"article.doc a.qn[id='{anchor}'] ~ a.q mark").count() >= 1  # highlighted
    # its number leads to the facts it supports...
    page.click(f"article.doc a.qn[id='{anchor}']")
    fact = page.url.split("#", 1)[1]
    assert fact.startswith("f-")
    item = page.locator(f"li[id='{fact}']")
    assert "Courtesy call of Qian Hongshan on Prak Sokhonn" in item.inner_text()
    # ...and the fact leads back to the span
    item.locator("a").first.click()
    assert page.url.endswith("#q-" + fact[2:])


def test_query_editor_runs_a_query(site, page):
    page.goto(site + "/sparql")
    page.fill("textarea[name=query]", "SELECT ?name WHERE { ?p a dkb:Person ; rdfs:label ?name } ORDER BY ?name")
    page.click("button:has-text('Run query')")
    page.wait_for_selector("table")
    names = page.locator("table td").all_inner_texts()
    assert names[:2] == ["Hun Sen", "Khuon Sudary"]


def test_accessibility_of_every_page_kind(site, browser):
    if not AXE.is_file():
        _skip_or_fail(f"axe-core is not installed at {AXE} (make test installs it with npm)")
    # axe is injected as a script, which the server's CSP (rightly) forbids: this context
    # alone bypasses it.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    source = AXE.read_text(encoding="utf-8")
    found = []
    for name, path in KINDS:
        pg.goto(site + path)
        pg.add_script_tag(content=source)
        result = pg.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']});
            return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                    nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target.join(' ')}))};
        }""")
        assert result["passes"] > 10, name  # axe really ran
        result = result["violations"]
        found += [(name, v["id"], v["impact"], v["nodes"], v["target"]) for v in result
                  if v["impact"] in ("serious", "critical")]
    context.close()
    assert not found, found


def test_static_site_from_a_sub_path(built, browser, tmp_path):
    """The static site opened from a folder two levels down (as a sub-path of a host would
    be): links followed by clicking, a quote to its span, and axe on the source page."""
    from click.testing import CliRunner

    from diplokb.cli import main

    p, _ = built
    out = tmp_path / "group" / "kb"
    result = CliRunner().invoke(main, ["site", str(out), "--out", str(p.out)])
    assert result.exit_code == 0, result.output
    pg = browser.new_page()
    pg.goto((out / "index.html").as_uri())
    pg.click("header nav a:has-text('Index')")
    pg.click("main a:text-is('Prak Sokhonn') >> nth=0")
    assert pg.locator("h1").inner_text() == "Prak Sokhonn"
    pg.click("blockquote a:has-text('in the text') >> nth=0")
    assert "/group/kb/id/src-" in pg.url and "#q-" in pg.url
    anchor = pg.url.split("#", 1)[1]
    assert pg.locator(f"a.qn[id='{anchor}']").count() == 1
    pg.click("header nav a:has-text('diplokb')")
    assert pg.url.endswith("/group/kb/index.html")
    if AXE.is_file():
        pg.goto((out / "id" / "src-000.html").as_uri())
        pg.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        bad = pg.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id)""")
        assert bad == []
    pg.close()

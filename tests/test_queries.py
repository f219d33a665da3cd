"""Every named query runs on the built KB and gives the answers the documents support."""
from __future__ import annotations

import pytest

from diplokb.errors import QueryError
from diplokb.query import bind, format_result, named_queries, rows


@pytest.fixture(scope="module")
def named(project):
    return named_queries(project.queries_dir)


def run(store, named, name, **params):
    result = store.query(bind(named[name].sparql, params))
    names, data = rows(result)
    return [{n: (t.value if t is not None else None) for n, t in zip(names, r)} for r in data]


ID = "https://w3id.org/diplokb/id/"


def test_every_named_query_has_a_title_description_and_runs(store, named):
    assert len(named) >= 10
    for q in named.values():
        assert q.title and q.description, q.name
        assert run(store, named, q.name), f"{q.name} returned no rows"


def test_q1_timeline(store, named):
    rows_ = run(store, named, "01-timeline")
    by_id = {r["event"].removeprefix(ID): r for r in rows_}
    li = by_id["li-keqiang-official-visit-2022"]
    assert (li["start"], li["end"], li["place"], li["sources"]) == ("2022-11-08", "2022-11-11", "Cambodia", "src-003")
    visit = by_id["qian-hongshan-election-observation-visit-2023"]
    assert (visit["start"], visit["end"]) == ("2023-07-20", "2023-07-24")
    call = by_id["courtesy-call-2023-07-24"]
    assert (call["date"], call["place"], call["kind"]) == ("2023-07-24", "Phnom Penh", "courtesy call")
    press = by_id["chinese-foreign-ministry-press-conference-2023-07-24"]
    assert (press["date"], press["place"], press["sources"]) == ("2023-07-24", "Beijing", "src-001")
    hun = by_id["hun-sen-visit-to-china-2024"]
    assert (hun["start"], hun["end"], hun["status"]) == ("2024-12-02", "2024-12-04", "announced")
    # ordered by date; the action plan's signing is known only to the year
    order = [r["event"].removeprefix(ID) for r in rows_]
    assert order.index("action-plan-signing-2019") < order.index("li-keqiang-official-visit-2022") \
        < order.index("qian-hongshan-election-observation-visit-2023") < order.index("hun-sen-visit-to-china-2024")
    assert by_id["action-plan-signing-2019"]["date"] == "2019"
    assert set(by_id["cambodia-general-election-2023"]["sources"].split()) == {"src-000", "src-001", "src-002"}


def test_q2_who_met_whom(store, named):
    rows_ = run(store, named, "02-who-met-whom")
    got = {(r["kind"], r["cambodianSide"], r["chineseSide"], r["date"]) for r in rows_}
    assert got == {
        ("collective meeting", "Hun Sen", "Qian Hongshan", None),
        ("meeting", "Khuon Sudary", "Qian Hongshan", None),
        ("meeting", "Prak Sokhonn", "Qian Hongshan", None),
        ("meeting", "Suos Yara", "Qian Hongshan", None),
        ("courtesy call", "Prak Sokhonn", "Qian Hongshan", "2023-07-24"),
    }


def test_q3_posts_of_prak_sokhonn(store, named):
    rows_ = run(store, named, "03-posts-of-person")
    posts = {r["post"].removeprefix(ID) for r in rows_}
    assert posts == {"deputy-prime-minister-of-cambodia", "minister-of-foreign-affairs-of-cambodia",
                     "cpp-standing-committee-member", "chair-of-cpp-international-relations-commission"}
    # one post, named two ways by two sources
    chair = {(r["source"], r["asNamed"], r["date"]) for r in rows_
             if r["post"] == ID + "chair-of-cpp-international-relations-commission"}
    assert chair == {
        ("src-000", "Chairman of the Commission for International Relations of the Cambodian People's Party Central Committee", "2023-07-24"),
        ("src-002", "Chairman of the External Relations Commission of the CPP", "2023-07-26"),
    }


def test_q3_with_another_person(store, named):
    rows_ = run(store, named, "03-posts-of-person", person="hun-sen")
    assert {r["post"].removeprefix(ID) for r in rows_} == {
        "prime-minister-of-cambodia", "cpp-president", "cpp-general-secretary", "president-of-the-senate"}


def test_q4_prime_minister_in_november_2022(store, named):
    rows_ = run(store, named, "04-post-holder-on-date")
    assert [(r["name"], r["source"]) for r in rows_] == [("Hun Sen", "src-003")]


def test_q4_other_dates(store, named):
    q = "04-post-holder-on-date"
    assert [r["name"] for r in run(store, named, q, when="2023")] == ["Hun Sen"]  # 002, July 2023
    assert run(store, named, q, when="2024") == []  # no source says who was PM in 2024
    senate = run(store, named, q, post="president-of-the-senate", when="2024-12-01")
    assert [(r["name"], r["attested"]) for r in senate] == [("Hun Sen", "2024-11-30/2024-12-01")]


def test_q5_statements_with_evidence(store, named):
    rows_ = run(store, named, "05-statements")
    mao = [r for r in rows_ if r["speaker"] == "Mao Ning" and r["kind"] == "congratulated"
           and "seventh national election" in r["quote"]]
    assert len(mao) == 1 and mao[0]["source"] == "src-001"
    qian = [r for r in rows_ if r["speaker"] == "Qian Hongshan" and r["kind"] == "reaffirmed support"]
    assert len(qian) == 1
    assert "support for Cambodia's sovereignty" in qian[0]["quote"] and qian[0]["source"] == "src-000"
    assert {r["speaker"] for r in rows_} >= {"the Chinese side", "both sides", "the Cambodian side", "Li Keqiang"}


def test_q6_communique_commitments_by_area(store, named):
    rows_ = run(store, named, "06-communique-commitments")
    areas = {r["area"] for r in rows_}
    assert areas == {"high-level exchanges", "security and law enforcement", "Belt and Road and infrastructure",
                     "trade", "health", "education and culture", "multilateral cooperation"}
    names = {(r["area"], n) for r in rows_ for n in (r["names"] or "").split("; ") if n}
    assert ("Belt and Road and infrastructure", "Siem Reap Angkor International Airport") in names
    assert ("trade", "Regional Comprehensive Economic Partnership Agreement") in names
    assert ("security and law enforcement", "Cambodia-China Joint Working Group on Safety and Security of Belt and Road") in names
    assert ("health", "Cambodia-China Traditional Chinese Medicine Cooperation Center") in names
    assert ("multilateral cooperation", "Global Development Initiative") in names
    assert ("high-level exchanges", "Inter-governmental Coordination Committee between Cambodia and China") in names
    # every lettered paragraph of section 4 is there
    assert {r["section"] for r in rows_} >= {"4(a)", "4(b)", "4(c)", "4(d)", "4(e)", "4(f)"}


def test_q7_things_named(store, named):
    rows_ = run(store, named, "07-named-things")
    by_id = {r["thing"].removeprefix(ID): r for r in rows_}
    assert (by_id["action-plan-community-of-shared-future"]["signed"], by_id["action-plan-community-of-shared-future"]["class"]) == ("2019", "agreement")
    assert (by_id["friendship-year-2023"]["year"], by_id["friendship-year-2023"]["class"]) == ("2023", "themed year")
    assert by_id["diplomatic-relations-65th-anniversary"]["year"] == "2023"
    assert by_id["comprehensive-strategic-partnership"]["signed"] == "2016"  # per 004 only
    assert by_id["sihanoukville-hong-kong-cable"]["class"] == "project"
    assert by_id["economic-and-trade-cooperation-committee"]["class"] == "mechanism"
    assert by_id["global-security-initiative"]["class"] == "initiative"
    assert len(rows_) == len(by_id) >= 40


def test_q8_announced_versus_happened(store, named):
    rows_ = run(store, named, "08-announced-events")
    got = {(r["event"].removeprefix(ID), r["status"], r["source"]) for r in rows_}
    assert got == {
        ("hun-sen-visit-to-china-2024", "announced", "src-004"),
        ("hun-sen-meeting-xi-jinping-2024", "announced", "src-004"),
        ("hun-sen-meeting-wang-huning-2024", "announced", "src-004"),
        ("hun-sen-meeting-zhao-leji-2024", "announced", "src-004"),
        ("intergovernmental-coordination-committee-7th-meeting", "planned", "src-003"),
    }
    assert {r["sourceDate"] for r in rows_ if r["source"] == "src-004"} == {"2024-11-30/2024-12-01"}


def test_q9_where_sources_differ(store, named):
    rows_ = run(store, named, "09-source-differences")
    party = {(r["source"], r["says"]) for r in rows_ if r["difference"] == ID + "hun-sen-party-title"}
    assert {s for s, _ in party} == {"src-001", "src-002", "src-004"}
    commission = {r["source"]: r["quote"] for r in rows_ if r["difference"] == ID + "prak-sokhonn-commission-name"}
    assert commission == {
        "src-000": "Chairman of the Commission for International Relations of the Cambodian People's Party Central Committee",
        "src-002": "Chairman of the External Relations Commission of the CPP"}
    assert ID + "mao-ning-pronoun" in {r["difference"] for r in rows_}


def test_q10_provenance(store, named):
    rows_ = run(store, named, "10-provenance")
    assert {r["source"] for r in rows_} == {"src-000"}
    date = [r for r in rows_ if r["property"].endswith("#date")]
    assert date and "courtesy call on 24 July 2023" in date[0]["quotes"]


def test_q10_provenance_of_a_fact_with_several_sources(store, named):
    rows_ = run(store, named, "10-provenance", fact="cambodia-general-election-2023")
    evidence_sources = {r["source"] for r in rows_ if r["quotes"]}
    assert evidence_sources == {"src-002"}  # its triples live in 002's graph


@pytest.mark.parametrize("name, column, expected", [
    ("11-post-name-variants", "post", {"chair-of-cpp-international-relations-commission",
                                       "vice-minister-of-cpc-international-department", "cpp-president"}),
    ("13-meetings-of-person", "event", {"li-keqiang-talks-with-hun-sen-2022",
                                        "qian-collective-meeting-with-hun-sen-2023",
                                        "hun-sen-meeting-xi-jinping-2024"}),
])
def test_queries_listing_ids(store, named, name, column, expected):
    rows_ = run(store, named, name)
    assert {r[column].removeprefix(ID) for r in rows_} >= expected


def test_figures_as_data(store, named):
    rows_ = run(store, named, "12-figures")
    turnout = [r for r in rows_ if r["measure"] == "voter turnout"]
    assert [(r["value"], r["unit"], r["qualifier"], r["source"]) for r in turnout] == [("84", "percent", "more than", "src-000")]


def test_statements_by_area(store, named):
    rows_ = run(store, named, "14-statements-by-area")
    assert {r["country"] for r in rows_} >= {"Cambodia", "China"}


def test_a_query_that_matches_nothing_returns_no_rows(store):
    result = store.query("SELECT ?x WHERE { ?x a dkb:Treaty }")
    assert rows(result) == (["x"], [])
    assert format_result(store.query("SELECT ?x WHERE { ?x a dkb:Treaty }"), "table") == "x\n-\n(0 rows)\n"


def test_unknown_parameter_is_named(named):
    with pytest.raises(QueryError, match="no parameter 'who'; its parameters: person"):
        bind(named["03-posts-of-person"].sparql, {"who": "hun-sen"})


def test_updates_are_refused(store):
    with pytest.raises(QueryError, match="read-only"):
        store.query("INSERT DATA { <a:b> <a:c> <a:d> }")


@pytest.mark.parametrize("sparql,refused", [
    ("INSERT DATA { <a:b> <a:c> <a:d> }", "read-only"),
    ("PREFIX x: <http://x/>\nBASE <http://z/>\ndelete where { ?s ?p ?o }", "read-only"),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
    ('SELECT * WHERE { ?s ?p "SERVICE and INSERT" } # SERVICE', None),
    ("PREFIX insert: <http://x/> SELECT * WHERE { ?s <http://x/SERVICE> ?o }", None),
])
def test_read_only_check(sparql, refused):
    from diplokb.query import check_read_only

    if refused:
        with pytest.raises(QueryError, match=refused):
            check_read_only(sparql)
    else:
        check_read_only(sparql)


def test_read_only_check_is_linear_on_long_prologues():
    import time

    from diplokb.query import check_read_only

    sparql = "".join(f"PREFIX p{i}: <http://example.org/{i}#>\n" for i in range(300)) + "SELECT * WHERE { ?s ?p ?o }"
    t0 = time.perf_counter()
    check_read_only(sparql)
    assert time.perf_counter() - t0 < 2  # a backtracking regex took exponential time here

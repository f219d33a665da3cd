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


def quotes_of(store, iri):
    """The evidence quotes of a fact, whitespace-normalised."""
    res = store.query(f"SELECT ?q WHERE {{ <{iri}> dkb:evidence/dkb:quote ?q }}")
    return [" ".join(r[0].value.split()) for r in rows(res)[1]]


def names_of(store, iri):
    res = store.query(f"SELECT ?n WHERE {{ <{iri}> rdfs:label|skos:prefLabel|skos:altLabel ?n }}")
    return {r[0].value for r in rows(res)[1]}


def test_q1_timeline(store, named):
    rows_ = run(store, named, "01-timeline")
    by_id = {r["event"].removeprefix(ID): r for r in rows_}
    li = by_id["li-keqiang-official-visit-2022"]
    assert (li["start"], li["end"], li["place"], li["sources"]) == ("2022-11-08", "2022-11-11", "Cambodia", "src-003")
    visit = by_id["qian-hongshan-election-observation-visit-2023"]
    assert (visit["start"], visit["end"]) == ("2023-07-20", "2023-07-24")
    assert visit["inferred"] == "date"  # "from July 20th to July 24th": the year is the dateline's
    call = by_id["courtesy-call-2023-07-24"]
    assert (call["date"], call["place"], call["kind"]) == ("2023-07-24", "Phnom Penh", "courtesy call")
    assert call["inferred"] == "part_of"  # 000 does not name the visit
    press = by_id["chinese-foreign-ministry-press-conference-2023-07-24"]
    assert (press["date"], press["place"], press["sources"]) == ("2023-07-24", "Beijing", "src-001")
    hun = by_id["hun-sen-visit-to-china-2024"]
    assert (hun["start"], hun["end"], hun["status"]) == ("2024-12-02", "2024-12-04", "announced")
    # sub-events "during the visit" show no date of their own, only the visit as bounds
    for sub in ("li-keqiang-royal-audience-2022", "li-keqiang-talks-with-hun-sen-2022",
                "signing-of-cooperation-documents-2022"):
        r = by_id[sub]
        assert (r["date"], r["start"], r["notBefore"], r["notAfter"]) == (None, None, "2022-11-08", "2022-11-11"), sub
    for sub in ("qian-collective-meeting-with-hun-sen-2023", "qian-observed-polling-2023"):
        assert (by_id[sub]["date"], by_id[sub]["notBefore"], by_id[sub]["notAfter"]) == (None, "2023-07-20", "2023-07-24")
    # polling happened during the visit (the delegation observed it): the election is bounded by it
    election = by_id["cambodia-general-election-2023"]
    assert (election["date"], election["notBefore"], election["notAfter"]) == (None, "2023-07-20", "2023-07-24")
    assert set(election["sources"].split()) == {"src-000", "src-001", "src-002"}
    # ordered by date or bounds; the action plan's signing is known only to the year
    order = [r["event"].removeprefix(ID) for r in rows_]
    assert order.index("action-plan-signing-2019") < order.index("li-keqiang-official-visit-2022") \
        < order.index("li-keqiang-talks-with-hun-sen-2022") < order.index("qian-hongshan-election-observation-visit-2023") \
        < order.index("hun-sen-visit-to-china-2024") < order.index("hun-sen-meeting-xi-jinping-2024")
    assert by_id["action-plan-signing-2019"]["date"] == "2019"
    # past and planned events that the texts name as things
    summits = by_id["cambodia-hosting-asean-related-summits"]
    assert (summits["status"], summits["date"], summits["sources"]) == ("took place", None, "src-003")
    invited = by_id["hun-sen-invited-visit-to-china"]
    assert (invited["status"], invited["date"], invited["start"]) == ("planned", None, None)
    assert by_id["friendship-year-celebrations-2023"]["status"] == "planned"


def test_q2_who_met_whom(store, named):
    rows_ = run(store, named, "02-who-met-whom")
    got = {(r["kind"], r["cambodianSide"], r["chineseSide"], r["date"], r["within"]) for r in rows_}
    visit = "2023-07-20/2023-07-24"
    assert got == {
        ("collective meeting", "Hun Sen", "Qian Hongshan", None, visit),
        ("meeting", "Khuon Sudary", "Qian Hongshan", None, visit),
        ("meeting", "Prak Sokhonn", "Qian Hongshan", None, visit),
        ("meeting", "Suos Yara", "Qian Hongshan", None, visit),
        ("courtesy call", "Prak Sokhonn", "Qian Hongshan, delegation led by Qian Hongshan", "2023-07-24", None),
    }
    # each Cambodian participant is named in the meeting's own quotes
    for r in rows_:
        quotes = " ".join(quotes_of(store, r["meeting"])).casefold()
        person = ID + r["cambodianSide"].lower().replace(" ", "-")
        assert any(n.casefold() in quotes for n in names_of(store, person)), r["meeting"]


def test_q3_posts_of_prak_sokhonn(store, named):
    rows_ = run(store, named, "03-posts-of-person")
    posts = {r["post"].removeprefix(ID) for r in rows_}
    assert posts == {"deputy-prime-minister-of-cambodia", "minister-of-foreign-affairs-of-cambodia",
                     "cpp-standing-committee-member", "chair-of-cpp-international-relations-commission"}
    # one post, named two ways by two sources; each dated by the event the text names it in,
    # not by the publication date (002 is dated 26 July, the visit was 20-24 July)
    chair = {(r["source"], r["asNamed"], r["date"], r["start"], r["end"], r["at"].removeprefix(ID)) for r in rows_
             if r["post"] == ID + "chair-of-cpp-international-relations-commission"}
    assert chair == {
        ("src-000", "Chairman of the Commission for International Relations of the Cambodian People's Party Central Committee",
         "2023-07-24", None, None, "courtesy-call-2023-07-24"),
        ("src-002", "Chairman of the External Relations Commission of the CPP", None, "2023-07-20", "2023-07-24",
         "qian-meeting-with-prak-sokhonn-2023"),
    }
    assert not [r for r in rows_ if r["date"] == "2023-07-26"]
    for r in rows_:  # the source's wording is in the text it cites
        assert r["asNamed"] in open_source(r["source"])


def open_source(source_id):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "kb" / "sources"
    (path,) = folder.glob(f"{source_id.removeprefix('src-')}_*.txt")
    return " ".join(path.read_text(encoding="utf-8").split())


def test_q3_with_another_person(store, named):
    rows_ = run(store, named, "03-posts-of-person", person="hun-sen")
    assert {r["post"].removeprefix(ID) for r in rows_} == {
        "prime-minister-of-cambodia", "cpp-president", "cpp-general-secretary", "president-of-the-senate"}
    # "General Secretary of the CPC Central Committee" is not printed: Xi's post shows as inferred
    xi = run(store, named, "03-posts-of-person", person="xi-jinping")
    assert {(r["post"].removeprefix(ID), frozenset(r["inferred"].split(", "))) for r in xi} == {
        ("cpc-general-secretary", frozenset({"name", "organization"})),
        ("president-of-china", frozenset({"name", "organization"}))}


def test_q4_prime_minister_in_november_2022(store, named):
    rows_ = run(store, named, "04-post-holder-on-date")
    assert [(r["name"], r["source"], r["attested"]) for r in rows_] == [("Hun Sen", "src-003", "2022-11-08/2022-11-11")]


def test_q4_other_dates(store, named):
    q = "04-post-holder-on-date"
    assert [r["name"] for r in run(store, named, q, when="2023")] == ["Hun Sen"]  # 002, July 2023
    assert [r["attested"] for r in run(store, named, q, when="2023-07-22")] == ["2023-07-20/2023-07-24"]
    assert run(store, named, q, when="2023-07-26") == []  # 002 names him during the visit, not on its date
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
    assert qian[0]["speakerAsNamed"] == "His Excellency Vice Minister"
    assert {r["speaker"] for r in rows_} >= {"the Chinese side", "both sides", "the Cambodian side", "Li Keqiang"}
    # every quote is verbatim in its source
    for r in rows_:
        assert " ".join(r["quote"].split()) in open_source(r["source"]), r["quote"]


def by_quote(rows_, fragment):
    found = [r for r in rows_ if fragment in r["quote"]]
    assert found, fragment
    return found


@pytest.mark.parametrize("fragment, speaker, as_named, kind", [
    # attribution: a person "saying that the Chinese side supports ..." is the speaker
    ("saying that the Chinese side firmly supports", "Qian Hongshan", "Qian", "supported"),
    ("and firmly opposes external interference", "Qian Hongshan", "Qian", "opposed"),
    # passive or unattributed sentences are the document's own voice
    ("China's crucial role as a leading donor", "Cambodia, China to further deepen partnership amid diplomatic anniversary", None, "recognized"),
    ("The exceptional voter participation underscored", "Cambodia, China to further deepen partnership amid diplomatic anniversary", None, "assessed"),
    ("Their presence demonstrated solidarity", "Cambodia, China to further deepen partnership amid diplomatic anniversary", None, "assessed"),
    ("China will continue to render development assistance", "Cambodia, China to further deepen partnership amid diplomatic anniversary", None, "committed"),
    # a joint heading of the communiqué is both sides'
    ("(a) Strengthen high-level strategic engagement.", "both sides", None, "agreed"),
    ("(e) Promote cooperation in science, education", "both sides", None, "agreed"),
    # one node per party, the text's wording kept
    ("China, as a good neighbor and good friend of Cambodia, wishes", "the Chinese side", "China", "wished"),
    ("Cambodia supports every Chinese effort", "the Cambodian side", "Cambodia", "supported"),
    ("Chinese leaders look forward", "the Chinese side", "Chinese leaders", "looked forward"),
    ("The Cambodian government views China", "the Cambodian side", "The Cambodian government", "assessed"),
    ("He also extended his congratulations", "Mao Ning", "He", "congratulated"),
    # kinds are what the verbs say
    ("sincerely wished and had firm belief", "the Chinese side", None, "wished"),
    ("Both sides advocated that countries should", "both sides", None, "advocated"),
    ("Both sides agreed to firmly uphold the basic norms", "both sides", None, "agreed"),
    ("calling on relevant parties", "both sides", None, "called on"),
    ("has played a key role in maintaining peace", "both sides", None, "stressed"),
    ("both sides reaffirmed the commitment to further deepening", "both sides", None, "reaffirmed commitment"),
    ("accepted the invitation with pleasure", "Hun Sen", None, "accepted"),
])
def test_q5_attribution_and_kinds_as_the_text_says(store, named, fragment, speaker, as_named, kind):
    found = by_quote(run(store, named, "05-statements"), fragment)
    assert {(r["speaker"], r["speakerAsNamed"], r["kind"]) for r in found} == {(speaker, as_named, kind)}


def test_q5_no_country_organization_or_government_speaks(store):
    res = store.query("SELECT DISTINCT ?c WHERE { ?s dkb:speaker ?sp . ?sp a ?c }")
    classes = {r[0].value.split("#")[-1] for r in rows(res)[1]}
    assert classes & {"Place", "Country", "Organization"} == set()


def test_q6_communique_commitments_by_area(store, named):
    rows_ = run(store, named, "06-communique-commitments")
    areas = {r["area"] for r in rows_}
    assert areas >= {"high-level exchanges", "security and law enforcement", "Belt and Road and infrastructure",
                     "trade", "health", "education and culture", "multilateral cooperation"}
    names = {(r["area"], n) for r in rows_ for n in (r["names"] or "").split("; ") if n}
    assert ("Belt and Road and infrastructure", "Siem Reap Angkor International Airport") in names
    assert ("trade", "Regional Comprehensive Economic Partnership Agreement") in names
    assert ("security and law enforcement", "Cambodia-China Joint Working Group on Safety and Security of Belt and Road") in names
    assert ("health", "Cambodia-China Traditional Chinese Medicine Cooperation Center") in names
    assert ("multilateral cooperation", "Global Development Initiative") in names
    assert ("high-level exchanges", "Inter-governmental Coordination Committee between Cambodia and China") in names
    assert ("education and culture", "Confucius Institutes") in names  # institutions named in 4(e)
    # every lettered paragraph of section 4 is there
    assert {r["section"] for r in rows_} >= {"4(a)", "4(b)", "4(c)", "4(d)", "4(e)", "4(f)"}
    fields = {(r["section"], f) for r in rows_ for f in (r["fields"] or "").split(", ") if f}
    assert {("4(e)", "science"), ("4(e)", "tourism"), ("4(e)", "health"), ("4(d)", "agriculture"),
            ("4(d)", "clean energy"), ("4(c)", "law enforcement")} <= fields


COMMITMENT_KINDS = ("agreed", "committed", "reaffirmed-commitment", "supported", "reaffirmed-support", "called-on",
                    "advocated", "opposed", "expressed-willingness", "looked-forward", "invited", "accepted")


def test_q6_returns_every_commitment_of_the_communique(store, named):
    """Checked against the graph itself: no statement of 003 with a commitment kind is missing,
    whatever its topic (the question once dropped a dozen outside seven areas)."""
    kinds = " ".join(f"<https://w3id.org/diplokb/vocab/statement-kind/{k}>" for k in COMMITMENT_KINDS)
    res = store.query(f"""SELECT DISTINCT ?s WHERE {{ VALUES ?k {{ {kinds} }}
        ?s dkb:statementKind ?k ; dkb:evidence/dkb:source id:src-003 }}""")
    expected = {r[0].value for r in rows(res)[1]}
    got = {r["statement"] for r in run(store, named, "06-communique-commitments")}
    assert got == expected and len(got) >= 40
    quotes = {q for s in got for q in quotes_of(store, s)}
    for fragment in ("Both sides agreed to designate 2023", "The Cambodian side reaffirmed its resolute adherence",
                     "calling on relevant parties", "Both sides advocated", "China supported Cambodia in successfully hosting",
                     "reaffirmed support to Cambodian people's choice", "(a) Strengthen high-level strategic engagement.",
                     "Both sides support closer cooperation on clean energy", "accepted the invitation with pleasure"):
        assert any(fragment in q for q in quotes), fragment


def test_q7_things_named(store, named):
    rows_ = run(store, named, "07-named-things")
    by_id = {r["thing"].removeprefix(ID): r for r in rows_}
    assert (by_id["action-plan-community-of-shared-future"]["signed"], by_id["action-plan-community-of-shared-future"]["class"]) == ("2019", "agreement")
    assert (by_id["friendship-year-2023"]["year"], by_id["friendship-year-2023"]["class"]) == ("2023", "themed year")
    assert by_id["friendship-year-2023"]["inferred"] is None  # 003 prints "designate 2023"
    # 004 does not print the Exchange Year's year: shown as the curator's inference
    assert (by_id["people-to-people-exchange-year"]["year"], by_id["people-to-people-exchange-year"]["inferred"]) == ("2024", "year")
    assert by_id["diplomatic-relations-65th-anniversary"]["year"] == "2023"
    assert by_id["comprehensive-strategic-partnership"]["signed"] == "2016"  # per 004 only
    assert by_id["sihanoukville-hong-kong-cable"]["class"] == "project"
    assert by_id["economic-and-trade-cooperation-committee"]["class"] == "mechanism"
    assert by_id["global-security-initiative"]["class"] == "initiative"
    # the signed documents' fields, as areas of cooperation
    assert set(by_id["cooperation-documents-2022"]["areas"].split(", ")) == {
        "climate change", "agriculture", "customs", "technology", "traditional Chinese medicine", "education",
        "development cooperation", "infrastructure"}
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
        ("hun-sen-invited-visit-to-china", "planned", "src-003"),  # invited and accepted, undated
        ("friendship-year-celebrations-2023", "planned", "src-003"),  # "will jointly hold"
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


def test_q13_sub_events_show_no_date_of_their_own(store, named):
    rows_ = {r["event"].removeprefix(ID): r for r in run(store, named, "13-meetings-of-person")}
    talks = rows_["li-keqiang-talks-with-hun-sen-2022"]
    assert (talks["when"], talks["within"]) == ("", "2022-11-08/2022-11-11")  # not the visit's start date
    assert (rows_["li-keqiang-official-visit-2022"]["when"], rows_["li-keqiang-official-visit-2022"]["within"]) == (
        "2022-11-08/2022-11-11", "")
    assert rows_["qian-collective-meeting-with-hun-sen-2023"]["when"] == ""
    assert rows_["hun-sen-invited-visit-to-china"]["status"] == "planned"  # the invitation he accepted in 003


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


@pytest.mark.parametrize("name", ["03-posts-of-person", "04-post-holder-on-date", "05-statements", "09-source-differences",
                                  "10-provenance", "11-post-name-variants", "12-figures"])
def test_quoted_columns_are_verbatim_in_the_row_s_source(store, named, name):
    """Rows against the documents: every quote or source wording a row shows is in the text of
    the source the row names."""
    checked = 0
    for r in run(store, named, name):
        if not r.get("source"):
            continue
        text = open_source(r["source"])
        for column in ("quote", "asNamed"):
            if r.get(column):
                assert " ".join(r[column].split()) in text, (name, column, r[column])
                checked += 1
        for part in (r.get("quotes") or "").split(" | "):
            if part:
                assert " ".join(part.split()) in text, (name, part)
                checked += 1
    assert checked, name

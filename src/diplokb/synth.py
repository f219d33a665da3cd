"""`diplokb synth`: a synthetic KB in the real YAML format, for benchmarks and tests.

It looks like the real one: many source files, each with an archived text whose sentences
the quotes are taken from; events with 2-6 participants on two sides; statements; post
attestations with dates; shared people, organizations, places, posts and things. The same
seed gives the same files. `broken` makes that share of records invalid in ways only SHACL
catches (for comparing validation engines).
"""
from __future__ import annotations

import random
from pathlib import Path

EVENT_KINDS = ["meeting", "bilateral-meeting", "courtesy-call", "talks", "official-visit", "signing",
               "press-conference", "committee-meeting"]
STATEMENT_KINDS = ["congratulated", "reaffirmed-support", "thanked", "committed", "agreed", "opposed",
                   "invited", "accepted", "expressed-confidence", "supported"]
TOPICS = ["high-level-exchanges", "security-and-law-enforcement", "belt-and-road-and-infrastructure",
          "trade", "health", "education-and-culture", "multilateral-cooperation", "development"]
SYLLABLES = ["an", "bo", "chen", "da", "en", "fu", "ga", "hai", "jin", "ka", "lo", "min", "na", "ou",
             "pei", "qi", "ra", "so", "tan", "uy", "vo", "wei", "xi", "ya", "zo"]
# Rough triples per record, to stop near the size asked for.
PER_SOURCE = 14
PER_EVENT = 12
PER_PARTICIPANT = 6
PER_STATEMENT = 13
PER_POST = 11


def _name(rng: random.Random) -> str:
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))).capitalize()
                    for _ in range(2))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(triples: int, out: str | Path, *, seed: int = 1, broken: float = 0.0) -> dict:
    """Writes DIR/entities/*.yaml and DIR/sources/*.{yaml,txt}; returns counts."""
    rng = random.Random(seed)
    out = Path(out)
    (out / "entities").mkdir(parents=True, exist_ok=True)
    (out / "sources").mkdir(parents=True, exist_ok=True)
    n_sources = max(2, triples // 280)
    n_people = max(10, n_sources // 4)
    n_orgs = max(4, n_people // 10)
    n_posts = max(4, n_people // 3)
    countries = ["atlantis", "borduria", "cascadia", "dorne"]

    lines = ["places:"]
    for c in countries:
        lines.append(f"  - {{id: {c}, name: {c.capitalize()}, kind: country}}")
    lines += [f"  - {{id: city-{i}, name: City {i}, kind: city, located_in: {countries[i % 4]}}}" for i in range(40)]
    lines.append("organizations:")
    for i in range(n_orgs):
        lines.append(f"  - {{id: org-{i}, name: Organization {i}, kind: ministry, country: {countries[i % 4]}}}")
    lines.append("posts:")
    for i in range(n_posts):
        lines.append(f"  - {{id: post-{i}, name: Post {i}, organization: org-{i % n_orgs}}}")
    lines.append("things:")
    for i in range(n_orgs):
        lines.append(f"  - {{id: project-{i}, name: Project {i}, kind: project, parties: [{countries[i % 4]}, {countries[(i + 1) % 4]}]}}")
    lines.append("sides:")
    for c in countries:
        lines.append(f"  - {{id: {c}-side, name: the {c.capitalize()} side, countries: [{c}]}}")
    (out / "entities" / "places-orgs.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    people = []
    lines = ["people:"]
    for i in range(n_people):
        name = f"{_name(rng)} {i}"
        people.append((f"person-{i}", name, countries[i % 4]))
        lines.append(f"  - id: person-{i}\n    name: {name}\n    variants: [{name.upper()}]\n"
                     f"    honorifics: [His Excellency]\n    nationality: {countries[i % 4]}")
    (out / "entities" / "people.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    budget = int(triples * 1.2) - 12 * (n_people + n_orgs + n_posts) - 200
    counts = {"sources": 0, "events": 0, "statements": 0, "posts": 0, "broken": 0}
    s = 0
    while budget > 0 or s < 2:
        sid = f"src-{s:06d}"
        year = 2000 + rng.randrange(25)
        month = rng.randrange(1, 13)
        day = rng.randrange(1, 29)
        date = f"{year}-{month:02d}-{day:02d}"
        sentences, yaml_events, yaml_statements, yaml_posts = [], [], [], []
        used = PER_SOURCE
        for e in range(rng.randint(1, 3)):
            k = rng.randint(2, 6)
            who = rng.sample(people, k)
            kind = rng.choice(EVENT_KINDS)
            place = f"city-{rng.randrange(40)}"
            sentence = (f"On {date}, {who[0][1]} held a {kind.replace('-', ' ')} with "
                        + ", ".join(w[1] for w in who[1:]) + f" in City {place[5:]} (record {s}.{e}).")
            sentences.append(sentence)
            bad = rng.random() < broken
            ev_date = f"{date}/{year - 1}-01-01" if bad else date
            counts["broken"] += bad
            parts = "\n".join(f"      - {{who: {w[0]}, side: {w[2]}}}" for w in who)
            yaml_events.append(f"  - id: {sid}-e{e}\n    kind: {kind}\n    title: {kind} {s}.{e}\n"
                               f"    date: {ev_date}\n    status: took-place\n    place: {place}\n"
                               f"    participants:\n{parts}\n    quote: {_q(sentence)}")
            used += PER_EVENT + PER_PARTICIPANT * k
            for st in range(rng.randint(1, 4)):
                speaker = rng.choice(who)
                skind = rng.choice(STATEMENT_KINDS)
                topic = rng.choice(TOPICS)
                sentence = (f"{speaker[1]} {skind.replace('-', ' ')} on {topic.replace('-', ' ')} "
                            f"at that {kind.replace('-', ' ')} (statement {s}.{e}.{st}).")
                sentences.append(sentence)
                topics = "[]" if rng.random() < broken else f"[{topic}]"
                yaml_statements.append(
                    f"  - speaker: {speaker[0]}\n    kind: {skind}\n    topics: {topics}\n"
                    f"    about: [project-{rng.randrange(n_orgs)}]\n    at: {sid}-e{e}\n    quote: {_q(sentence)}")
                used += PER_STATEMENT
        for _ in range(rng.randint(0, 2)):
            person = rng.choice(people)
            post = rng.randrange(n_posts)
            sentence = f"{person[1]}, who holds Post {post}, spoke to the press (note {s}.{len(yaml_posts)})."
            sentences.append(sentence)
            when = f"{year + 1}" if rng.random() < broken else f"{year}-{month:02d}"
            yaml_posts.append(f"  - person: {person[0]}\n    post: post-{post}\n    as_named: Post {post}\n"
                              f"    date: {when}\n    quote: {_q(sentence)}")
            used += PER_POST
        text = f"Dateline City {s % 40}, {date}\n\n" + "\n".join(
            (" ".join(sentences[i:i + 3])) for i in range(0, len(sentences), 3)) + "\n"
        (out / "sources" / f"{sid}.txt").write_text(text, encoding="utf-8")
        doc = [f"source:\n  id: {sid}\n  title: Synthetic report {s}\n  kind: news-item\n  date: {date}\n"
               f"  place: city-{s % 40}\n  text_file: {sid}.txt", "events:", *yaml_events,
               "statements:", *yaml_statements]
        if yaml_posts:
            doc += ["posts:", *yaml_posts]
        (out / "sources" / f"{sid}.yaml").write_text("\n".join(doc) + "\n", encoding="utf-8")
        counts["sources"] += 1
        counts["events"] += len(yaml_events)
        counts["statements"] += len(yaml_statements)
        counts["posts"] += len(yaml_posts)
        budget -= used
        s += 1
    return counts

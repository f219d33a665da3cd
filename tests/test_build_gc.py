"""A build turns the cyclic garbage collector off while it runs (pipeline.Project.build) and,
without making it go through everything it allocated, leaves it as it found it (issue 18)."""
from __future__ import annotations

import gc
import weakref

from diplokb import Project


class Node:
    pass


def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_after_a_build_the_collector_is_on_and_still_finds_cycles(project, tmp_path):
    assert gc.isenabled()
    before = cycle()  # garbage made before the build, found by a full collection after it
    Project(root=project.root, kb=project.kb, out=tmp_path / "out", cache=False).build(jobs=1)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    after = cycle()
    gc.collect()
    assert before() is None and after() is None


def test_a_build_leaves_the_callers_frozen_objects_frozen(project, tmp_path):
    gc.collect()
    gc.freeze()  # e.g. a server that froze its start-up objects before forking workers
    try:
        frozen = gc.get_freeze_count()
        Project(root=project.root, kb=project.kb, out=tmp_path / "out", cache=False).build(jobs=1)
        assert gc.get_freeze_count() >= frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_build_with_the_collector_off_leaves_it_off(project, tmp_path):
    gc.disable()
    try:
        Project(root=project.root, kb=project.kb, out=tmp_path / "out", cache=False).build(jobs=1)
        assert not gc.isenabled()
    finally:
        gc.enable()

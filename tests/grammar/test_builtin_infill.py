"""Infilling on the shipped grammars: holes cut from real text are completable, broken contexts are not."""
from __future__ import annotations

import glob
import os

import pytest

from memgram.grammar import HOLE, Grammar, Hole

CORPUS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cpp_corpus", "*.cpp")))


@pytest.fixture(scope="module")
def cpp():
    return Grammar.builtin("cpp")


@pytest.mark.parametrize("idx", [0, 2, 5])
def test_cpp_hole_cut_from_corpus(cpp, idx):
    src = open(CORPUS[idx], encoding="utf-8").read()
    assert cpp.accepts(src)
    a, b = len(src) // 3, len(src) // 3 + 15
    r = cpp.completable([src[:a], HOLE, src[b:]])
    assert r.ok is True
    # the original text fits a bounded hole of exactly its size
    assert cpp.completable([src[:a], Hole(b - a), src[b:]]).ok is True


def test_cpp_broken_context(cpp):
    src = open(CORPUS[0], encoding="utf-8").read()
    a = len(src) // 2
    # a stray closing brace right after the function's end cannot be fixed by a hole before it
    assert cpp.completable([src.rstrip() + "\n}}", HOLE]).ok is False
    assert cpp.completable(["int f() { return ) ", HOLE]).ok is False
    assert cpp.completable(["int f(", HOLE, ") { return 0; }"]).ok is True


def test_json_infill():
    g = Grammar.builtin("json")
    assert g.completable(['{"a": [1, 2', HOLE, '}']).ok is True
    assert g.completable(['{"a": ', HOLE, ']]']).ok is False
    assert g.completable(['{"a": "x', Hole(1), ', "b": 1}']).ok is True     # closes the string
    assert g.completable(['{"a": tr', Hole(1), '}']).ok is False
    assert g.completable(['{"a": tr', Hole(2), '}']).ok is True
    w = g.complete(['{"a": [1, ', HOLE, '}'])
    assert w is not None and g.accepts(w)

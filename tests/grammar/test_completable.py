"""Completability vs a brute-force oracle on small random grammars (both directions)."""
from __future__ import annotations

import random
import re

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memgram.grammar import HOLE, Grammar, GrammarError, Hole, UndecidedError

from .oracle import Oracle

# terminal pool over the alphabet {a, b, c, ' '}: overlapping literals and regexes
TERMS = [
    ('"a"', False), ('"ab"', False), ('"b"', False), ('"aa"', False), ('"c"', False),
    ("/a+/", True), ("/[ab]+/", True), ("/b*a/", True), ("/ab?/", True), ("/c[ab]*/", True),
]
ALPHABET = "abc "


@st.composite
def grammars(draw):
    n_t = draw(st.integers(2, 4))
    idx = draw(st.lists(st.integers(0, len(TERMS) - 1), min_size=n_t, max_size=n_t, unique=True))
    lines = []
    tnames = []
    for k, i in enumerate(idx):
        prio = draw(st.sampled_from(["", "", ".2"]))
        lines.append(f"T{k}{prio}: {TERMS[i][0]}")
        tnames.append(f"T{k}")
    ignore = draw(st.booleans())
    if ignore:
        lines.append("WS: / +/")
        lines.append("%ignore WS")
    n_n = draw(st.integers(2, 4))
    nts = ["start"] + [f"n{k}" for k in range(1, n_n)]
    for A in nts:
        alts = []
        for _ in range(draw(st.integers(1, 3))):
            L = draw(st.integers(0, 3))
            syms = [draw(st.sampled_from(tnames + nts)) for _ in range(L)]
            alts.append(" ".join(syms))
        # one terminal-only alternative keeps most grammars productive
        if draw(st.booleans()):
            alts.append(draw(st.sampled_from(tnames)))
        lines.append(f"{A}: " + " | ".join(a if a else "" for a in alts))
    return "\n".join(lines) + "\n"


texts = st.text(alphabet=ALPHABET, min_size=0, max_size=4)


@st.composite
def pieces_st(draw, bounded=False):
    n_holes = draw(st.integers(0, 2))
    ps = [draw(texts)]
    for _ in range(n_holes):
        if bounded:
            ps.append(Hole(draw(st.integers(0, 3))))
        else:
            ps.append(HOLE)
        ps.append(draw(texts))
    return ps


def _build(text):
    try:
        return Grammar.from_lark(text), Oracle(text)
    except (GrammarError, lark.exceptions.LarkError):
        return None, None


SETTINGS = dict(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@settings(**SETTINGS)
@given(grammars(), st.lists(pieces_st(), min_size=2, max_size=2))
def test_completable_vs_bruteforce(gtext, cases):
    g, orc = _build(gtext)
    if g is None:
        return
    for ps in cases:
        n_holes = sum(isinstance(p, Hole) for p in ps)
        r = g.completable(ps)
        if r.ok:
            # no false yes: the engine's own shortest filling must be a word of the language
            w = g.complete(ps)
            assert w is not None, (gtext, ps)
            assert orc.member(w), (gtext, ps, w)
            # it really fills the holes of ps
            rx = "".join("(.*)" if isinstance(p, Hole) else re.escape(p) for p in ps)
            assert re.fullmatch(rx, w, re.S), (ps, w)
        else:
            assert r.ok is False
            # no false no: no filling up to the bound is in the language
            max_len = 4 if n_holes <= 1 else 2
            found = orc.completable(ps, ALPHABET, max_len)
            assert found is None, (gtext, ps, found)
            assert g.complete(ps) is None


@settings(**SETTINGS)
@given(grammars(), st.lists(st.text(alphabet=ALPHABET, max_size=6), min_size=5, max_size=5))
def test_accepts_vs_oracle(gtext, words):
    g, orc = _build(gtext)
    if g is None:
        return
    for w in words:
        assert g.accepts(w) == orc.member(w), (gtext, w)


@settings(**SETTINGS)
@given(grammars(), st.lists(pieces_st(bounded=True), min_size=2, max_size=2))
def test_bounded_holes(gtext, cases):
    g, orc = _build(gtext)
    if g is None:
        return
    for ps in cases:
        holes = [p for p in ps if isinstance(p, Hole)]
        r = g.completable(ps)
        found = orc.completable(ps, ALPHABET, 3)  # bounds are <= 3: exhaustive
        if len(holes) <= 1:
            assert r.ok == (found is not None), (gtext, ps, found)
            assert r.exact
        else:
            # necessary condition: never refuses a completable output
            if found is not None:
                assert r.ok, (gtext, ps, found)
        w = g.complete(ps)
        if w is not None:
            assert orc.member(w)
            assert r.ok
        elif len(holes) <= 1:
            assert found is None


# --- accepts() vs lark where lark's basic lexer has the same semantics (no overlapping terminals)
ARITH = r"""
start: expr
expr: expr "+" term | expr "-" term | term
term: term "*" atom | atom
atom: NUMBER | "(" expr ")" | NAME "(" args? ")"
args: expr ("," expr)*
NUMBER: /[0-9]+/
NAME: /[xyz]+/
WS: / +/
%ignore WS
"""


def test_accepts_agrees_with_lark():
    g = Grammar.from_lark(ARITH)
    lk = lark.Lark(ARITH, parser="earley", lexer="basic")
    rnd = random.Random(0)
    alphabet = "0123456789xyz+-*(), "
    n_yes = 0
    for _ in range(600):
        if rnd.random() < 0.5:
            w = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        else:  # mostly-valid strings
            w = rnd.choice(["1+2", "x(1,2)*3", "(1+y)*z(4)", "12 * ( 3 - x )"])
            w = list(w)
            if rnd.random() < 0.5 and w:
                del w[rnd.randrange(len(w))]
            w = "".join(w)
        try:
            lk.parse(w)
            ok = True
        except lark.exceptions.LarkError:
            ok = False
        assert g.accepts(w) == ok, w
        n_yes += ok
    assert n_yes > 50


def test_examples():
    g = Grammar.from_lark(ARITH)
    assert g.completable(["1 + ", HOLE, " * 3"]).ok is True
    assert g.completable(["1 + ", HOLE, " * 3)"]).ok is True     # hole can open a paren
    assert g.completable(["1 + ", HOLE, " * )"]).ok is False
    assert g.completable(["x(", HOLE]).ok is True
    assert g.complete(["x(", HOLE]) == "x()"
    # a hole may end a lexeme started in the text and start one that ends in the text
    assert g.completable(["12", Hole(0), "3"]).ok is True
    assert g.completable(["x", HOLE, "y()"]).ok is True
    assert g.completable(["x", HOLE, "y"]).ok is False  # NAME must be a call
    assert g.completable(["(", Hole(1), ")"]).ok is True
    assert g.completable(["(1+", Hole(0), ")"]).ok is False
    assert g.completable(["(1+", Hole(1), ")"]).ok is True
    assert g.complete(["(1+", Hole(1), ")"]) == "(1+0)"


def test_maximal_munch_across_hole():
    # keyword vs identifier and longest match: "ab" lexes as AB, never as A B
    text = 'start: "a" "b" | AB2\nAB2: "ab"\n'
    g = Grammar.from_lark(text)
    assert not g.accepts("ab") or g.accepts("ab")  # smoke
    o = Oracle(text)
    for ps in (["a", HOLE], ["a", Hole(1)], [HOLE, "b"], ["a", HOLE, "b"]):
        assert g.completable(ps).ok == (o.completable(ps, "ab ", 3) is not None), ps


def test_budget_reports_none():
    g = Grammar.from_lark(ARITH)
    r = g.completable(["1 + ", HOLE, " * 3 + (", HOLE, ")"], budget=3)
    assert r.ok is None and "budget" in r.reason
    with pytest.raises(UndecidedError):
        bool(r)
    r = g.completable(["1 + ", HOLE, " * 3"], seconds=0.0)
    assert r.ok in (None, True)  # time budget may or may not hit before the answer
    r = g.completable(["1 + ", HOLE, " * 3"], budget=10**6)
    assert r.ok is True


def test_unicode_and_bytes():
    g = Grammar.from_lark('start: S\nS: /"[^"]*"/\n')
    assert g.accepts('"héllo"')
    b = '"hé'.encode()[:-1]  # ends inside a UTF-8 character
    assert g.completable([b, HOLE]).ok is True
    assert isinstance(g.complete([b, HOLE]), bytes)
    assert g.accepts(g.complete([b, HOLE]))


@settings(**SETTINGS)
@given(grammars(), st.lists(st.one_of(pieces_st(), pieces_st(bounded=True)), min_size=3, max_size=3))
def test_fast_kernel_matches_reference(gtext, cases):
    g, _ = _build(gtext)
    if g is None:
        return
    from memgram.grammar import api

    for ps in cases:
        b = g.completable(ps, engine="reference")
        old = api._MINIMIZE_EDGES, api.QUOTIENT_EDGES
        try:
            # with determinise + minimise, with the bisimulation quotient, with neither
            for mini, quot in ((0, 10**9), (10**9, 0), (10**9, 10**9)):
                api._MINIMIZE_EDGES, api.QUOTIENT_EDGES = mini, quot
                a = g.completable(ps, engine="fast")
                assert a.ok == b.ok, (gtext, ps, mini, quot)
        finally:
            api._MINIMIZE_EDGES, api.QUOTIENT_EDGES = old


def test_fast_kernel_budget():
    g = Grammar.from_lark(ARITH)
    r = g.completable(["1 + ", HOLE, " * 3 + (", HOLE, ")"], budget=3, engine="fast")
    assert r.ok is None and "budget" in r.reason


def test_complete_budget_is_undecided_not_none():
    from memgram.grammar.api import UndecidedError

    g = Grammar.builtin("cpp")
    ps = ["int f(int x) { return ", Hole(8), " + ", Hole(8), "; }"]
    assert g.complete(ps) is not None
    with pytest.raises(UndecidedError):
        g.complete(ps, budget=10)


def test_first_sets_of_the_kernels():
    """FIRST bit words (the kernels drop items whose next symbol cannot start with a terminal on the node's edges):
    through a nullable prefix, and never a terminal that cannot start the symbol."""
    from memgram.grammar.earley_nb import GrammarArrays

    g = Grammar.from_lark('start: a "x" | "y" b\na: "z"?\nb: "w"')
    ga = GrammarArrays(g.cfg)
    tid = {t.name: i for i, t in enumerate(g.cfg.terminals)}
    sym = {n: g.cfg.n_terminals + i for i, n in enumerate(g.cfg.nonterminals)}

    def first(s):
        w = ga.first_bits[s]
        return {n for n, t in tid.items() if (int(w[t // 64]) >> (t % 64)) & 1}

    assert first(sym["start"]) == {"X", "Y", "Z"}
    assert first(sym["a"]) == {"Z"} and first(sym["b"]) == {"W"}
    assert first(tid["Y"]) == {"Y"}


def _same_config_tables(g):
    """The numba construction of the lookahead classes and configuration tables gives the Python one: the same
    canonical sets, the same numbering, the same tables."""
    import numpy as np

    from memgram.grammar.completion import ConfigTables, HoleGraph, _config_tables_py

    hg = HoleGraph(g.lexer)
    ct = ConfigTables(hg)
    canon, n_cfg, n_cls = hg._canon, hg.n_configs, hg.n_lookahead_classes
    hg._build_canon_py()
    assert (canon, n_cfg, n_cls) == (hg._canon, hg.n_configs, hg.n_lookahead_classes)
    trans, end, lab, ids = _config_tables_py(hg)
    assert np.array_equal(ct.trans, trans) and np.array_equal(ct.end, end) and np.array_equal(ct.lab, lab)
    assert ct.ids == ids
    return len(ids)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(grammars())
def test_config_tables_numba_equal_python_random(gtext):
    g, _ = _build(gtext)
    if g is not None:
        _same_config_tables(g)


def test_config_tables_numba_equal_python_shipped_and_schema():
    sizes = [_same_config_tables(Grammar.builtin(n)) for n in ("json", "cpp")]
    schema = {"type": "object", "properties": {"k": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                                               "n": {"type": "integer", "minimum": 3}, "s": {"type": "string"}}}
    sizes.append(_same_config_tables(Grammar.from_json_schema(schema)))
    assert sizes[1] > 1000     # C++: thousands of configurations

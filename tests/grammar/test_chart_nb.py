"""The numba item sets (grammar/chart_nb.py) against the Python reference parser (matcher.Parser), and the token
matcher that steps them from numba (GrammarIndex.step) against ``completable`` with every array starting tiny."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgram.grammar import Grammar
from memgram.grammar.chart_nb import ChartParser
from memgram.grammar.matcher import GrammarIndex, Parser, compile_matcher
from memgram.grammar.vocab import TokenTable

from .test_completable import _build, grammars
from .test_matcher import check_walk

GRAMMARS = Path(__file__).resolve().parents[2] / "grammar" / "grammars"


def same_item_sets(g, walks, steps, seed):
    """Follow random label sequences through both parsers (mostly labels the node accepts, some it does not): every
    node has the same acceptable set and acceptance, and the same steps lead nowhere. Returns the nodes built."""
    rng = random.Random(seed)
    labels = g.hole_graph.labels
    ref, nb = Parser(g.cfg, labels), ChartParser(g.cfg, labels)
    assert (ref.root.akey, ref.root.accepts) == (nb.root.akey, nb.root.accepts)
    bits = [sum(1 << t for t in ts) for ts in ref.labels]
    for _ in range(walks):
        a, b = ref.root, nb.root
        for _ in range(steps):
            fits = [q for q, x in enumerate(bits) if x & a.akey]
            if not bits or not fits:
                break
            q = rng.choice(fits) if rng.random() < 0.85 else rng.randrange(len(bits))
            a2, b2 = ref.scan(a, q), nb.scan(b, q)
            assert (a2 is None) == (b2 is None)
            if a2 is None:
                continue
            assert (a2.akey, a2.accepts) == (b2.akey, b2.accepts)
            a, b = a2, b2
    return ref.n_nodes


@settings(max_examples=120, deadline=None)
@given(grammars(), st.integers(0, 2**16))
def test_item_sets_match_reference_on_random_grammars(gtext, seed):
    g, _ = _build(gtext)      # None where lark or the loader refuses it (the strategy's grammars are not all usable)
    if g is None or g.cfg.is_empty_language:
        return
    same_item_sets(g, walks=6, steps=12, seed=seed)


@pytest.mark.parametrize("name,walks,steps", [("json", 20, 60), ("cpp", 8, 150)])
def test_item_sets_match_reference_on_shipped_grammars(name, walks, steps, monkeypatch):
    """C++: ~15 precedence levels of unit rules (completion cascades), left recursion; every array starting with room
    for 2 nodes, so each growth path runs (the answers must not change)."""
    monkeypatch.setattr(ChartParser, "CAP0", 2)
    g = Grammar.from_lark((GRAMMARS / f"{name}.lark").read_text())
    assert same_item_sets(g, walks, steps, seed=1) > 20


def test_item_sets_match_reference_on_a_json_schema():
    schema = {"type": "object", "properties": {
        "id": {"type": "integer", "minimum": 0}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        "child": {"$ref": "#"}, "note": {"type": ["string", "null"]}}, "required": ["id"]}
    assert same_item_sets(Grammar.from_json_schema(schema), walks=20, steps=40, seed=2) > 50


def test_matcher_with_tiny_tables_agrees_with_completable(monkeypatch):
    """Masks with the parser's and the index's arrays all starting at their smallest (every grow-and-retry path of
    GrammarIndex.step and ChartParser runs) agree with ``completable`` token by token and equal those made with the
    default sizes."""
    text = 'start: e ";"\ne: e "+" t | t\nt: t "*" f | f\nf: "(" e ")" | "x" | "y"'
    g = Grammar.from_lark(text)
    alphabet = sorted({c for c in text if c in "+*;()xyabcz"})
    toks = [c.encode() for c in alphabet] + [(a + b).encode() for a in alphabet for b in alphabet]
    table = TokenTable(toks + [b""], special=[0] * len(toks) + [1], eos_ids=[len(toks)])

    text_ids = [toks.index(c.encode()) for c in "(" * 12 + "x" + "*(y+x)" * 3 + ")" * 12 + ";"]

    def masks(m):
        """The masks along a nested expression (each nesting level is new item sets)."""
        out = []
        for t in text_ids:
            out.append(m.mask().copy())
            assert m.advance(t)
        out.append(m.mask().copy())
        assert m.is_accepting()
        return out

    default = masks(compile_matcher(Grammar.from_lark(text), table))
    monkeypatch.setattr(ChartParser, "CAP0", 2)
    monkeypatch.setattr(GrammarIndex, "CAP0", 1)
    tiny = compile_matcher(g, table)
    got = masks(tiny)
    assert len(got) == len(default) and all((a == b).all() for a, b in zip(got, default))
    ix = tiny.index
    # every table did grow from its smallest size
    assert len(ix._mh_keys) > 16 and len(ix._node_arow) > 16 and len(ix._ak_rows) > 1
    assert len(ix.parser.n_pred) > 2 and len(ix.parser.k_dr) > 8 and len(ix.parser.pr_key) > 2
    check_walk(g, table, [], random.Random(0), follow=0, random_steps=6, check_every=1, n_sample=len(toks),
               budget_checks=10_000)


def test_steps_are_shared_by_python_and_numba_callers():
    """A step made while composing a mask (in numba) is the one a later advance finds in the step table, and the
    other way round: replaying the text with a new matcher of the same index enters no step and builds no item set."""
    g = Grammar.from_json_schema({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}})
    toks = [bytes([c]) for c in b'{}[]":,a0123456789 '] + [b'{"', b'":', b'[1', b'2,', b'0]', b'"a']
    table = TokenTable(toks + [b""], special=[0] * len(toks) + [1], eos_ids=[len(toks)])
    m = compile_matcher(g, table)
    ix = m.index
    text = b'{"a":[1,20,3]}'
    for i in range(len(text)):
        m.mask()
        assert m.advance(toks.index(text[i:i + 1]))
    assert m.is_accepting()
    n_built, n_steps = int(ix.parser.cnt[0]), int(ix._mh_n[0])
    m2 = compile_matcher(g, table)
    assert m2.index is ix
    for i in range(len(text)):
        assert m2.advance(toks.index(text[i:i + 1]))
    assert (int(ix.parser.cnt[0]), int(ix._mh_n[0])) == (n_built, n_steps)
    assert m2.branches == m.branches                  # the very same node objects


@pytest.mark.parametrize("schema,doc", [
    ({"type": "array", "items": {"type": "integer"}}, list(range(60))),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, {f"k{i}": i for i in range(60)}),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": "x", **{f"k{i}": [i] for i in range(60)}}),
])
def test_repetitions_reuse_item_sets(schema, doc):
    """Array elements, map entries and undeclared members are left-recursive and equal item sets are found again: a
    document of 60 repeated parts builds no more item sets than one of 10 (before, right recursion made new ones at
    every part)."""
    toks = [bytes([c]) for c in range(32, 127)]
    table = TokenTable(toks + [b""], special=[0] * len(toks) + [1], eos_ids=[len(toks)])
    g = Grammar.from_json_schema(schema)

    def item_sets(text):
        m = compile_matcher(g, table)
        for b in text.encode():
            m.mask()
            assert m.advance(b - 32)
        assert m.is_accepting()
        return int(m.index.parser.cnt[0])

    short = dict(list(doc.items())[:10]) if isinstance(doc, dict) else doc[:10]
    n_short = item_sets(json.dumps(short))
    assert item_sets(json.dumps(doc)) == n_short

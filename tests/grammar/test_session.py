"""Incremental sessions agree with from-scratch completable() at every step."""
from __future__ import annotations

import random

import pytest

from memgram.grammar import HOLE, Grammar, Hole

ARITH = r"""
start: stmt+
stmt: NAME "=" expr ";"
expr: expr "+" term | expr "-" term | term
term: term "*" atom | atom
atom: NUMBER | NAME | "(" expr ")"
NUMBER: /[0-9]+/
NAME: /[a-z]+/
WS: /[ \n]+/
%ignore WS
"""

TARGETS = ["a = 1 + 2 * (b - 3);", "x=(y+1)*z; q = 42;", "ab = cd*(ef+(g)); h = 7 - i;"]


def _cut(rnd, s, n_holes, bounded):
    cuts = sorted(rnd.sample(range(len(s) + 1), 2 * n_holes))
    pieces, fills, prev = [], [], 0
    for i in range(n_holes):
        a, b = cuts[2 * i], cuts[2 * i + 1]
        pieces.append(s[prev:a])
        fills.append(s[a:b])
        pieces.append(Hole(b - a + rnd.randint(0, 2)) if bounded else HOLE)
        prev = b
    pieces.append(s[prev:])
    return pieces, fills


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("seed", range(12))
def test_session_matches_scratch(seed, engine):
    g = Grammar.from_lark(ARITH)
    rnd = random.Random(seed)
    target = rnd.choice(TARGETS)
    bounded = seed % 3 == 2
    pieces, fills = _cut(rnd, target, rnd.randint(1, 2), bounded)
    s = g.session(pieces, engine=engine)
    assert s.check().ok == g.completable(pieces, engine="reference").ok
    remaining = [list(f) for f in fills]  # text still to place in each hole
    bound = [p.max_bytes for p in pieces if isinstance(p, Hole)]
    steps = 0
    while any(remaining):
        h = rnd.choice([i for i, r in enumerate(remaining) if r])
        hole_index = sum(1 for i in range(h) if bound[i] is None or bound[i] > 0)
        side = rnd.choice(["left", "right"])
        k = rnd.randint(1, min(3, len(remaining[h])))
        if rnd.random() < 0.3:
            # a wrong fill, checked without committing, must agree with scratch too
            bad = rnd.choice(["))", ";;", "+*", "=="])
            rt = s.try_fill(hole_index, bad, side)
            ps = _apply(s.pieces, hole_index, bad, side)
            if ps is not None:
                assert rt.ok == g.completable(ps).ok, (s.pieces, bad, side)
            else:
                assert rt.ok is False
        if side == "left":
            text = "".join(remaining[h][:k])
            del remaining[h][:k]
        else:
            text = "".join(remaining[h][-k:])
            del remaining[h][-k:]
        if bound[h] is not None:
            bound[h] -= len(text)
        r = s.fill(hole_index, text, side)
        scratch = g.completable(s.pieces, engine="reference" if engine == "fast" else "fast")
        assert r.ok == scratch.ok, (s.pieces, r, scratch)
        assert r.ok is True  # filling back the original text keeps it completable
        steps += 1
    assert s.stats["checks"] == steps + 1
    if engine == "reference":
        assert s.stats["reused_positions"] > 0 or steps == 0


def _apply(pieces, hole_index, text, side):
    out = []
    hi = 0
    for p in pieces:
        if isinstance(p, Hole):
            if hi == hole_index:
                nb = None if p.max_bytes is None else p.max_bytes - len(text.encode())
                if nb is not None and nb < 0:
                    return None
                h = Hole(nb)
                out.extend([text, h] if side == "left" else [h, text])
            else:
                out.append(p)
            hi += 1
        else:
            out.append(p)
    return out


def test_session_reuse_and_pieces():
    g = Grammar.from_lark(ARITH)
    s = g.session(["a = 1 + ", HOLE, " * 3;"])
    assert s.check().ok
    assert s.fill(0, "(", "left").ok
    assert s.fill(0, ")", "right").ok
    assert s.pieces[0] == b"a = 1 + (" and s.pieces[-1] == b") * 3;"
    assert s.try_fill(0, ";", "left").ok is False
    assert s.pieces[0] == b"a = 1 + ("  # try_fill did not commit
    assert s.fill(0, "2", "left").ok
    st = s.stats
    assert st["checks"] == 4 and st["reused_positions"] > 0 and st["recomputed_positions"] > 0


def test_bounded_hole_closes():
    g = Grammar.from_lark(ARITH)
    s = g.session(["a = (", Hole(2), ";"])
    assert s.check().ok
    assert s.fill(0, "1", "left").ok
    r = s.fill(0, ")", "right")
    assert r.ok
    assert not any(isinstance(p, Hole) for p in s.pieces)
    assert g.accepts(b"".join(s.pieces))
    s2 = g.session(["a = (", Hole(1), ";"])
    assert s2.check().ok is False

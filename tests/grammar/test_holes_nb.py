"""The hole-state NFA builder (grammar/holes_nb.py) vs the per-boundary builder and the reference."""
from __future__ import annotations

import contextlib
import glob
import os
import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memgram.grammar import HOLE, Grammar, Hole
from memgram.grammar.api import _segments
from memgram.grammar.completion import Pattern
from memgram.grammar import earley_nb as E
from memgram.grammar.earley_nb import bisim_quotient, minimize_layered, nfa_arrays_fast, run_fast, subset_kernel
from memgram.grammar.holes_nb import hole_tables, nfa_arrays_holes

from .test_completable import _build, grammars, texts


def _costs(g, ps):
    """Min cost to the goal for every costed-hole choice, both builders, each also after the bisimulation quotient,
    and with determinise+minimise (costs 0 only)."""
    pat = Pattern(_segments(ps)[0])
    out = []
    for costed in [frozenset()] + [frozenset([h]) for h in range(len(pat.bounds))]:
        res = []
        for build in (lambda: nfa_arrays_fast(g.config_tables, pat, costed), lambda: nfa_arrays_holes(g, pat, costed)):
            a = build()
            res.append(run_fast(g.arrays, arrays=a)[0])
            ok, *q = bisim_quotient(*a)
            assert ok and len(q[0]) <= len(a[0])
            res.append(run_fast(g.arrays, arrays=tuple(q))[0])
            if not costed:
                d = subset_kernel(a[0], a[1], a[2], a[3], a[4], g.arrays.T)
                q = minimize_layered(*d, g.arrays.T, hole_positions=pat.hole_pos)
                res.append(run_fast(g.arrays, arrays=q)[0])
        out.append((costed, res))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(grammars(), texts, st.integers(0, 8), st.integers(0, 8), st.integers(0, 4))
def test_limited_kernel_answers_the_min_cost_question(gtext, start, i, j, limit):
    """With a limit the kernels stop at the first goal within it (a cost <= limit, maybe not the least) and never
    queue dearer items; they find one iff the exact minimum is within the limit: the cost-ordered (Knuth) kernel,
    the depth-first label-correcting one, and the first handing over to the second when its work cap is hit.
    Patterns: a word of the grammar (a completion of a random start) with a piece cut out as a bounded hole, so the
    minimum is often > 0."""
    g, _ = _build(gtext)
    if g is None:
        return
    w = g.complete([start, HOLE])
    if w is None:
        return
    w = w.encode() if isinstance(w, str) else w
    i, j = sorted((min(i, len(w)), min(j, len(w))))
    ps = [w[:i], Hole(max(3, j - i)), w[j:]]
    a = nfa_arrays_holes(g, Pattern(_segments(ps)[0]), frozenset([0]))
    least = run_fast(g.arrays, arrays=a)[0]
    assert least is not None and least <= j - i               # the cut-out bytes are one filling
    for within, cap in ((False, 0), (True, 1), (True, 20_000)):   # Knuth only; depth first cut short; depth first
        with _kernel_settings(within, cap):
            got = run_fast(g.arrays, arrays=a, limit=limit)[0]
        assert (got is not None) == (least <= limit), (gtext, ps, least, got, within, cap)
        assert got is None or least <= got <= limit


@contextlib.contextmanager
def _kernel_settings(within, cap):
    old = E.USE_KERNEL_WITHIN, E.WITHIN_WORK
    E.USE_KERNEL_WITHIN, E.WITHIN_WORK = within, cap
    try:
        yield
    finally:
        E.USE_KERNEL_WITHIN, E.WITHIN_WORK = old


@st.composite
def multi_hole(draw):
    n = draw(st.integers(1, 3))
    ps = [draw(texts)]
    for _ in range(n):
        ps.append(draw(st.sampled_from([HOLE, Hole(1), Hole(3)])))
        ps.append(draw(texts))
    return ps


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(grammars(), st.lists(multi_hole(), min_size=2, max_size=2))
def test_hole_state_builder_matches(gtext, cases):
    g, _ = _build(gtext)
    if g is None:
        return
    for ps in cases:
        for costed, res in _costs(g, ps):
            assert len(set(res)) == 1, (gtext, ps, costed, res)
        # and the public fast path agrees with the reference engine
        assert g.completable(ps, engine="fast").ok == g.completable(ps, engine="reference").ok


def test_hole_tables_shapes():
    g = Grammar.builtin("json")
    ht = hole_tables(g)
    assert ht.n_states <= ht.n_states_raw
    assert ht.delta.shape == (ht.n_states, g.arrays.T)
    assert ht.entry.max() < ht.n_states and ht.delta.max() < ht.n_states
    assert len(ht.rx_off) == ht.n_states + 1


def test_builtin_cuts_agree():
    rnd = random.Random(3)
    g = Grammar.builtin("json")
    doc = '{"a": [1, 2.5e3, "x\\u00e9y"], "b": {"c": null, "d": [true, false]}}'
    for _ in range(6):
        a = rnd.randrange(len(doc) - 4)
        b = a + rnd.randint(1, 4)
        for ps in ([doc[:a], HOLE, doc[b:]], [doc[:a], Hole(b - a), doc[b:]], [doc[:a] + "]", HOLE, doc[b:]]):
            for costed, res in _costs(g, ps):
                assert len(set(res)) == 1, (ps, costed, res)
    cpp = Grammar.builtin("cpp")
    src = open(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cpp_corpus", "*.cpp")))[0]).read()
    a = len(src) // 2
    for ps in ([src[:a], HOLE, src[a + 10:]], [src[:a] + ")", HOLE, src[a + 10:]], [src[:a], Hole(10), src[a + 10:]]):
        pat = Pattern(_segments(ps)[0])
        x = nfa_arrays_fast(cpp.config_tables, pat)
        y = nfa_arrays_holes(cpp, pat)
        assert len(y[3]) < len(x[3])                     # fewer edges
        rx = [run_fast(cpp.arrays, arrays=minimize_layered(*subset_kernel(*z[:5], cpp.arrays.T), cpp.arrays.T,
                                                           hole_positions=pat.hole_pos))[0] for z in (x, y)]
        assert rx[0] == rx[1]
        assert (rx[0] is not None) == cpp.completable(ps).ok


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(grammars(), st.lists(multi_hole(), min_size=2, max_size=2))
def test_cost_free_kernel_matches(gtext, cases):
    """earley_kernel0 (stack, open addressing) vs the priority-queue kernel, same automata."""
    from memgram.grammar import earley_nb

    g, _ = _build(gtext)
    if g is None:
        return
    for ps in cases:
        pat = Pattern(_segments(ps)[0])
        bounded = [i for i, b in enumerate(pat.bounds) if b is not None]
        # the bounded hole must be costed, else every path costs 0 and the bound is never compared
        a = nfa_arrays_fast(g.config_tables, pat, frozenset(bounded[:1]))
        res = []
        for flag in (False, True):
            earley_nb.USE_KERNEL0 = flag
            try:
                res.append(run_fast(g.arrays, arrays=a)[0])
            finally:
                earley_nb.USE_KERNEL0 = True
        assert res[0] == res[1], (gtext, ps, res)
        bounds = [p.max_bytes for p in ps if isinstance(p, Hole) and p.max_bytes is not None]
        if len(bounds) <= 1:  # the kernels return the minimum bytes in the bounded hole, the caller compares
            fits = res[1] is not None and (not bounds or res[1] <= bounds[0])
            assert fits == g.completable(ps, engine="reference").ok, (gtext, ps, res)


def test_cost_free_kernel_budget_and_accepts():
    g = Grammar.builtin("cpp")
    src = open(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cpp_corpus", "*.cpp")))[1]).read()
    assert g.accepts(src)
    assert not g.accepts(src.replace("{", "", 1))
    r = g.completable([src[:40], HOLE, src[60:]], budget=5)
    assert r.ok is None and "budget" in r.reason


def _nfa(n, edges, final, pos):
    """NFA arrays from (src, term, dst, cost) tuples (sorted here by node and terminal)."""
    edges = sorted(edges)
    off = np.zeros(n + 1, np.int64)
    for u, *_ in edges:
        off[u + 1] += 1
    col = lambda i: np.array([e[i] for e in edges], np.int64)
    return (np.array(pos, np.int64), np.array(final, np.int64), np.cumsum(off), col(1), col(2), col(3))


def test_bisim_quotient_merges_equivalent_nodes_only():
    # 0 -a-> 1 -b-> 3(final), 0 -a-> 2 -b-> 4(final): 1~2 and 3~4 merge; 5 (-b-> 3 at cost 1) does not merge with 1
    a = _nfa(6, [(0, 0, 1, 0), (0, 0, 2, 0), (1, 1, 3, 0), (2, 1, 4, 0), (0, 2, 5, 0), (5, 1, 3, 1)],
             [-1, -1, -1, 0, 0, -1], [0, 1, 1, 2, 2, 1])
    ok, pos, final, off, term, dst, cost = bisim_quotient(*a)
    assert ok and len(pos) == 4 and len(term) == 4       # {0}, {1,2}, {3,4}, {5}; edge 0-a->{1,2} once
    assert final[0] == -1 and sorted(final.tolist()) == [-1, -1, -1, 0]
    assert np.all(np.diff(term[off[0]:off[1]]) >= 0)     # sorted by terminal per node
    # a self-loop layer (a hole): 1 and 2 loop on c into each other and both read b to 3
    a = _nfa(4, [(0, 0, 1, 0), (0, 1, 2, 0), (1, 2, 2, 0), (2, 2, 1, 0), (1, 1, 3, 0), (2, 1, 3, 0)],
             [-1, -1, -1, 0], [0, 1, 1, 2])
    ok, pos, *_ = bisim_quotient(*a)
    assert ok and len(pos) == 3
    # an edge back to a lower position: refused, returned unchanged
    a = _nfa(2, [(0, 0, 1, 0), (1, 0, 0, 0)], [-1, 0], [1, 0])
    ok, *q = bisim_quotient(*a)
    assert not ok and all(np.array_equal(x, y) for x, y in zip(q, a))


def test_bisim_quotient_shrinks_cpp_holes_and_keeps_answers():
    cpp = Grammar.builtin("cpp")
    src = open(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cpp_corpus", "*.cpp")))[0]).read()
    a = len(src) // 2
    for ps in ([src[:a], HOLE, src[a + 10:]], [src[:a] + ")", HOLE, src[a + 10:]], [src[:20], HOLE, src[a:], HOLE]):
        pat = Pattern(_segments(ps)[0])
        x = nfa_arrays_holes(cpp, pat)
        ok, *q = bisim_quotient(*x)
        assert ok and len(q[0]) < len(x[0]) and len(q[3]) < len(x[3])
        assert run_fast(cpp.arrays, arrays=tuple(q))[0] == run_fast(cpp.arrays, arrays=x)[0]
        assert (run_fast(cpp.arrays, arrays=tuple(q))[0] is not None) == cpp.completable(ps, engine="reference").ok


def test_canonical_nodes_shrink_the_automaton_and_keep_answers():
    """The builder's per-byte representatives (canon_text / canon_end / canon_hole) vs identity tables."""
    cpp = Grammar.builtin("cpp")
    ht = hole_tables(cpp)
    saved = ht.canon_text, ht.canon_end, ht.canon_hole
    NC = cpp.config_tables.trans.shape[0]
    ident = (np.tile(np.arange(NC), (saved[0].shape[0], 1)), np.arange(NC),
             np.tile(np.arange(ht.n_states), (saved[2].shape[0], 1)))
    src = open(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cpp_corpus", "*.cpp")))[2]).read()
    a = len(src) // 3
    cases = ([src, HOLE], [src[:a], HOLE, src[a + 5:]], [HOLE, src[a:]], [src[:a] + "}", HOLE, src[a:]],
             [src[:a], Hole(4), src[a + 5:], HOLE], [src[:a], HOLE, "@", HOLE])
    for ps in cases:
        pat = Pattern(_segments(ps)[0])
        for costed in [frozenset()] + [frozenset([h]) for h, b in enumerate(pat.bounds) if b is not None]:
            small = nfa_arrays_holes(cpp, pat, costed)
            try:
                ht.canon_text, ht.canon_end, ht.canon_hole = ident
                big = nfa_arrays_holes(cpp, pat, costed)
            finally:
                ht.canon_text, ht.canon_end, ht.canon_hole = saved
            assert run_fast(cpp.arrays, arrays=small)[0] == run_fast(cpp.arrays, arrays=big)[0], (ps, costed)
            assert len(small[3]) < len(big[3])
            if ps == cases[0]:
                # a hole ending the pattern: the ~450 lexeme ends per hole state all land on one final node
                assert 5 * len(small[3]) < len(big[3])


def test_quotient_keys_equal_the_per_state_keys():
    """The hole states' exit keys of the quotient, computed in one numba pass, separate exactly the states that the
    per-state tuples (configurations after each byte class; (label, end) of lexemes ending at the hole) separate."""
    import memgram.grammar.holes_nb as H

    for name in ("json", "cpp"):
        g = Grammar.builtin(name)
        ct = g.config_tables
        ht = H.HoleTables.__new__(H.HoleTables)
        ht.r_off, ht.r_conf = H._reach_all(ct.trans)
        bconf = np.unique(np.concatenate([[0], ct.end[ct.end >= 0]])).astype(np.int64)
        bidx = np.full(ct.trans.shape[0], -1, np.int64)
        bidx[bconf] = np.arange(len(bconf))
        out = H._build_tables(ct.trans, ct.end, ct.lab, ct.lab_off, ct.lab_terms, int(g.cfg.n_terminals), ht.r_off,
                              ht.r_conf, bidx, bconf)
        rx_off, rx_conf = out[4], out[5]
        f_off, f_code = H._first_codes(rx_off, rx_conf, np.ascontiguousarray(ct.trans, np.int64))
        fast = [f_code[f_off[X]:f_off[X + 1]].tobytes() for X in range(len(rx_off) - 1)]
        slow = []
        for X in range(len(rx_off) - 1):
            cs = rx_conf[rx_off[X]:rx_off[X + 1]]
            t = ct.trans[cs]
            slow.append(tuple(tuple(np.unique(t[:, k][t[:, k] >= 0]).tolist()) for k in range(ct.trans.shape[1])))
        ids_f, ids_s = {}, {}
        assert [ids_f.setdefault(k, len(ids_f)) for k in fast] == [ids_s.setdefault(k, len(ids_s)) for k in slow]
        assert len(ids_f) > 1

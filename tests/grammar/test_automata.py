"""ByteDFA: minimization, liveness, shortest acceptance, prefix/suffix automata, byte classes."""
from __future__ import annotations

import itertools
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from memgram.grammar.automata import DEAD, ByteDFA, determinize_tables, product_dfa
from memgram.grammar.regex import regex_to_dfa

SIGMA = b"abc"


def words(max_len, sigma=SIGMA):
    for n in range(max_len + 1):
        for w in itertools.product(sigma, repeat=n):
            yield bytes(w)


@st.composite
def random_dfa(draw, max_states=7):
    """A random partial DFA over the bytes a, b, c (other bytes dead)."""
    n = draw(st.integers(1, max_states))
    trans = np.full((n, 256), DEAD, np.int32)
    for q in range(n):
        for b in SIGMA:
            trans[q, b] = draw(st.integers(-1, n - 1))
    accept = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    return ByteDFA(trans, accept, draw(st.integers(0, n - 1)))


def brute_min_states(d: ByteDFA) -> int:
    """Number of distinct non-empty residual languages of reachable states (Myhill–Nerode),
    residuals compared on all words up to length n (enough for an n-state DFA)."""
    n = d.n_states
    reach = set()
    for w in words(n):
        q = d.run(w)
        if q >= 0:
            reach.add(q)
    sigs = set()
    for q in reach:
        sig = tuple(bool(d.accept[r]) if (r := d.run(w, q)) >= 0 else False for w in words(n))
        if any(sig):
            sigs.add(sig)
    return max(1, len(sigs))


@settings(max_examples=120, deadline=None)
@given(random_dfa(max_states=6))
def test_minimize_preserves_language_and_is_minimal(d):
    m = d.minimize()
    for w in words(5):
        assert m.fullmatch(w) == d.fullmatch(w), w
    assert m.n_states == brute_min_states(d)
    assert m.start == 0
    # idempotent and canonical
    m2 = m.minimize()
    assert np.array_equal(m2.trans, m.trans) and np.array_equal(m2.accept, m.accept)


@settings(max_examples=100, deadline=None)
@given(random_dfa(max_states=6))
def test_live_and_min_accept_len_brute_force(d):
    live = d.live()
    dist = d.min_accept_len()
    ext = d.ext_live()
    for q in range(d.n_states):
        best = -1
        best_ext = False
        for w in words(d.n_states):
            r = d.run(w, q)
            if r >= 0 and d.accept[r]:
                if best < 0 or len(w) < best:
                    best = len(w)
                if len(w) >= 1:
                    best_ext = True
        assert dist[q] == best, (q, dist[q], best)
        assert live[q] == (best >= 0)
        assert ext[q] == best_ext
    assert d.is_empty() == (dist[d.start] < 0)


@settings(max_examples=100, deadline=None)
@given(random_dfa(max_states=5))
def test_prefix_suffix_reverse_brute_force(d):
    L = {w for w in words(7) if d.fullmatch(w)}
    pre, suf, rev = d.prefix_dfa(), d.suffix_dfa(), d.reverse_dfa()
    for w in words(3):
        # words of L up to length 7 witness prefixes/suffixes of length ≤ 3 in a ≤5-state DFA
        # (any residual/co-residual that is non-empty has a witness of length < 5)
        is_pre = any(x.startswith(w) for x in L)
        is_suf = any(x.endswith(w) for x in L)
        assert pre.fullmatch(w) == is_pre, ("prefix", w)
        assert suf.fullmatch(w) == is_suf, ("suffix", w)
        assert rev.fullmatch(w) == (w[::-1] in L), ("reverse", w)


def test_prefix_suffix_regex_examples():
    d = regex_to_dfa("a(b|c)*d")
    pre, suf = d.prefix_dfa(), d.suffix_dfa()
    for s, p, q in [("", True, True), ("a", True, False), ("abcb", True, False), ("abd", True, True),
                    ("bcd", False, True), ("d", False, True), ("da", False, False), ("abda", False, False)]:
        assert pre.fullmatch(s.encode()) == p, s
        assert suf.fullmatch(s.encode()) == q, s
    # multi-byte: prefixes and suffixes may cut a UTF-8 character
    e = regex_to_dfa("é+")
    assert e.prefix_dfa().fullmatch("é".encode()[:1])
    assert e.suffix_dfa().fullmatch("é".encode()[1:])
    assert not e.fullmatch("é".encode()[:1])
    empty = regex_to_dfa("[^\\s\\S]")
    assert empty.is_empty() and empty.prefix_dfa().is_empty() and empty.suffix_dfa().is_empty()


def test_known_minimal_sizes():
    assert regex_to_dfa("(a|b)*abb").n_states == 4
    assert regex_to_dfa("(?:b*ab*ab*ab*)*b*").n_states == 3  # number of a's divisible by 3
    assert regex_to_dfa("a{5}").n_states == 6
    assert regex_to_dfa("(?:a|b)*a(?:a|b){2}").n_states == 8  # 3rd-from-last is a: 2^3 states
    # a redundant DFA (two copies of the same state) collapses
    t = np.full((3, 256), DEAD, np.int32)
    t[0, ord("a")] = 1
    t[0, ord("b")] = 2
    t[1, ord("a")] = 1
    t[2, ord("a")] = 2
    d = ByteDFA(t, np.array([False, True, True]), 0)
    m = d.minimize()
    assert m.n_states == 2
    assert m.fullmatch(b"aaa") and m.fullmatch(b"ba") and not m.fullmatch(b"")


def test_partition_key_keeps_states_apart():
    t = np.full((3, 256), DEAD, np.int32)
    t[0, ord("a")] = 1
    t[0, ord("b")] = 2
    d = ByteDFA(t, np.array([False, True, True]), 0)
    assert d.minimize().n_states == 2
    assert d.minimize(partition_key=lambda q: q).n_states == 3


def test_byte_classes():
    d = regex_to_dfa("[a-c]x|[b-d]y")
    cls, k = d.byte_classes()
    assert cls.shape == (256,)
    for b1 in range(256):
        for b2 in (0, ord("a"), ord("b"), ord("d"), ord("x"), 255):
            same = np.array_equal(d.trans[:, b1], d.trans[:, b2])
            assert (cls[b1] == cls[b2]) == same
    assert k == len(set(cls.tolist()))
    # a, b-c, d, x, y, everything else
    assert k == 6


def _byte_classes_exact(trans):
    """Reference: classes by exact column comparison, numbered by first byte."""
    first_of, cls = {}, np.zeros(256, np.int32)
    for b in range(256):
        col = trans[:, b].tobytes()
        cls[b] = first_of.setdefault(col, len(first_of))
    reps = np.array(sorted(next(b for b in range(256) if cls[b] == c) for c in range(len(first_of))), np.int64)
    return cls, len(first_of), reps


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(1, 30), st.integers(0, 2**32 - 1), st.booleans())
def test_byte_classes_hashed_equal_exact(n, k, seed, collide):
    """The hashed byte classes equal an exact column comparison, also when every hash collides (zero weights force
    the fallback)."""
    import memgram.grammar.automata as A

    rng = np.random.default_rng(seed)
    cols = rng.integers(-1, n, size=(n, k)).astype(np.int32)
    trans = np.ascontiguousarray(cols[:, rng.integers(0, k, size=256)])
    saved = A._state_weights
    if collide:
        A._state_weights = lambda m: np.zeros(m, np.uint64)
    try:
        cls, nk, reps = A._byte_classes_of(trans)
    finally:
        A._state_weights = saved
    want = _byte_classes_exact(trans)
    assert np.array_equal(cls, want[0]) and nk == want[1] and np.array_equal(reps, want[2])


def test_determinize_tables_union():
    a = regex_to_dfa("ab*")
    b = regex_to_dfa("b+")
    off = a.n_states
    T = np.concatenate([a.trans, np.where(b.trans >= 0, b.trans + off, DEAD)])
    trans, sets = determinize_tables(T, [[a.start, off + b.start]])
    acc = np.concatenate([a.accept, b.accept])
    u = ByteDFA(trans, np.array([acc[list(s)].any() for s in sets]), 0).minimize()
    for w in words(4, b"ab"):
        assert u.fullmatch(w) == bool(re.fullmatch(b"ab*|b+", w))
    assert u.equivalent(a.union(b))
    i = product_dfa(regex_to_dfa("a*b*"), regex_to_dfa("(ab)*"), lambda x, y: x and y).minimize()
    for w in words(4, b"ab"):
        assert i.fullmatch(w) == (w in (b"", b"ab"))


def test_run_and_step_dead():
    d = regex_to_dfa("ab")
    assert d.run(b"x") == DEAD
    assert d.run(b"xab") == DEAD
    assert d.step(DEAD, ord("a")) == DEAD
    assert d.fullmatch(b"ab") and not d.fullmatch(b"abab")


@settings(max_examples=60, deadline=None)
@given(random_dfa(max_states=6))
def test_minimize_exact_fallback_on_hash_collisions(d):
    """With a degenerate hash (all weights 1) collisions are frequent; the stability check must
    detect them and fall back to exact refinement, still giving the minimal automaton."""
    import memgram.grammar.automata as A
    saved = A._HASH_W
    A._HASH_W = np.ones_like(saved)
    try:
        m = d.minimize()
    finally:
        A._HASH_W = saved
    assert m.n_states == brute_min_states(d)
    for w in words(4):
        assert m.fullmatch(w) == d.fullmatch(w)
    ref = d.minimize()
    assert np.array_equal(ref.trans, m.trans) and np.array_equal(ref.accept, m.accept)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31 - 1), st.integers(1, 3))
def test_determinize_tables_matches_python_reference(n, k, seed, n_starts):
    """The numba subset construction gives the plain-Python construction's table and subsets exactly
    (random partial tables over k byte values, several start sets, duplicates included)."""
    from memgram.grammar.automata import _determinize_tables_py

    rng = np.random.default_rng(seed)
    T = np.full((n, 256), DEAD, np.int32)
    cols = rng.choice(256, size=k, replace=False)
    T[:, cols] = rng.integers(-1, n, size=(n, k))
    starts = [rng.integers(0, n, size=int(rng.integers(1, 5))).tolist() for _ in range(n_starts)]
    got = determinize_tables(T, starts)
    want = _determinize_tables_py(T, starts)
    assert np.array_equal(got[0], want[0]) and got[1] == want[1]


def test_determinize_tables_grows_past_its_first_buffers():
    # a counter over 3000 states: more subsets than the first arrays and hash table hold
    n = 3000
    T = np.full((2 * n, 256), DEAD, np.int32)
    T[np.arange(n - 1), ord("a")] = np.arange(1, n)
    T[n + np.arange(n - 1), ord("a")] = n + np.arange(1, n)
    T[np.arange(n), ord("b")] = n + np.arange(n)
    trans, sets = determinize_tables(T, [[0, n]])
    from memgram.grammar.automata import _determinize_tables_py

    want = _determinize_tables_py(T, [[0, n]])
    assert len(sets) > 2048 and np.array_equal(trans, want[0]) and sets == want[1]


def _longest_by_enumeration(d: ByteDFA, alphabet: bytes, limit: int):
    """Longest accepted string over ``alphabet`` of at most ``limit`` bytes (-1 if none), by breadth-first search."""
    best, frontier = (0 if d.accept[d.start] else -1), {d.start}
    for n in range(1, limit + 1):
        frontier = {int(d.trans[q, b]) for q in frontier for b in alphabet if d.trans[q, b] >= 0}
        if any(d.accept[q] for q in frontier):
            best = n
    return best


@given(st.sampled_from(["a{2,5}", "(?:ab|c){0,3}d?", "x|yz|", "[a-c]{1,3}(?:d|ee)", "(?:a|bb){2}c{0,4}",
                        "a+", "(?:ab)*c", "[^\\s\\S]", "b?", "a{3}|b{1,6}"]))
def test_max_accept_len_matches_enumeration(pattern):
    d = regex_to_dfa(pattern)
    got = d.max_accept_len()
    brute = _longest_by_enumeration(d, b"abcdexyz", 12)
    if got is None:  # infinite: strings of every length up to the limit keep being accepted
        assert brute == 12 or _longest_by_enumeration(d, b"abcdexyz", 13) == 13
    else:
        assert got == brute


def test_intersect_and_minus_equal_the_product_construction():
    """ByteDFA.intersect / .minus (numba product on joint byte classes) give the minimal DFA of the generic product."""
    from memgram.grammar.automata import product_dfa
    from memgram.grammar.regex import regex_to_dfa

    pats = [r"[a-z]+", r"\w{2,5}", r"(?:ab)*c?", r"[^\x00-\x7f]{1,3}", r"x|y|é+", r"", r"[0-9]{4}-[0-9]{2}"]
    for p in pats:
        for q in pats:
            a, b = regex_to_dfa(p), regex_to_dfa(q)
            fast = a.intersect(b)
            slow = product_dfa(a, b, lambda x, y: x and y).minimize()
            assert np.array_equal(fast.trans, slow.trans) and np.array_equal(fast.accept, slow.accept), (p, q)
            fast = a.minus(b)
            slow = product_dfa(a, b, lambda x, y: x and not y).minimize()
            assert np.array_equal(fast.trans, slow.trans) and np.array_equal(fast.accept, slow.accept), (p, q)


def test_moore_rounds_match_the_numpy_rounds():
    """The numba Moore rounds give the partition of the numpy rounds (up to class names) on the tables of real
    patterns, bounded repetitions (one round per chain state) included."""
    from memgram.grammar.automata import _HASH_W, _byte_classes_of, _moore_hashed_np, _moore_rounds, product_dfa
    from memgram.grammar.regex import regex_to_dfa

    merged = 0
    pats = [r'"[^"\\\x00-\x1f]{0,40}"', r"\w{1,4}", r"(?:ab|c){3,9}x?", r"[a-z]+@[a-z]+\.(?:com|org)", r"a*"]
    for p, q in zip(pats, pats[1:] + pats[:1]):
        d = product_dfa(regex_to_dfa(p), regex_to_dfa(q), lambda x, y: x or y)   # not minimal: states to merge
        _, k, reps = _byte_classes_of(d.trans)
        T = d.trans[:, reps]
        valid = T >= 0
        Tz = np.where(valid, T, 0).astype(np.int64)
        init = d.accept.astype(np.int64)
        a = _moore_rounds(init.copy(), valid, Tz, _HASH_W[:k + 1])
        b = _moore_hashed_np(init.copy(), valid, Tz)
        pairs = set(zip(a.tolist(), b.tolist()))
        assert len(pairs) == len(set(a.tolist())) == len(set(b.tolist())), p
        merged += d.n_states - len(pairs)
    assert merged > 0

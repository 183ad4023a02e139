"""Deterministic byte automata (DFAs over the alphabet 0..255) and the constructions on them.

A :class:`ByteDFA` is a transition table ``trans[n_states, 256]`` (int32, ``DEAD = -1`` for "no
transition"), an ``accept`` vector and a start state. Tables are *partial*: after
:meth:`ByteDFA.minimize` every state that cannot reach acceptance is removed, so ``DEAD`` is
reached at the first byte after which no word of the language can follow.

Constructions kept here (numpy + Python, the subset construction in numba; compiled once per
terminal and cached upstream):

* :func:`determinize_tables` — subset construction over a *set of deterministic tables*
  (one concatenated table, several start states). Used for the lexer's union automaton (the
  product of all terminal DFAs, represented sparsely as the set of live component states) and for
  :meth:`ByteDFA.suffix_dfa`. A numba kernel (``_subsets``: sorted member arrays found again
  through a hash table); ``_determinize_tables_py`` is its plain-Python reference for the tests.
* :meth:`ByteDFA.minimize` — trimming (reachable and co-reachable states only) followed by Moore's
  partition refinement (Moore 1956), run on byte equivalence classes; the initial partition can be
  refined by a caller-provided key (the lexer uses the label set of each state).
* reachability / liveness / shortest-accepting-distance by breadth-first search.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterable

import numba as nb
import numpy as np

DEAD = -1

__all__ = ["DEAD", "ByteDFA", "determinize_tables", "product_dfa"]


_WEIGHTS = np.zeros(0, np.uint64)


def _state_weights(n: int) -> np.ndarray:
    """``n`` pseudo-random 64-bit weights for the column hash of ``_byte_classes_of`` (any weights give the right
    classes there, since the result is checked exactly; fixed ones keep runs reproducible)."""
    global _WEIGHTS
    if n > _WEIGHTS.shape[0]:
        _WEIGHTS = np.random.default_rng(0).integers(1, 2**63, size=max(n, 1024), dtype=np.uint64)
    return _WEIGHTS[:n]


def _byte_classes_of(trans: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Bytes b, b' are equivalent iff the columns trans[:, b] and trans[:, b'] are equal.

    Returns (class id per byte [256] int32, number of classes, representative byte per class).
    Class ids are numbered in order of the first byte of each class (byte 0 is in class 0).
    """
    n = trans.shape[0]
    if n == 0:
        return np.zeros(256, np.int32), 1, np.zeros(1, np.int64)
    # one 64-bit hash per column (a random weight per state, wrapping arithmetic), then an exact check that every
    # column equals its class representative; on a collision, the exact (much slower) row-wise np.unique
    h = (trans.astype(np.uint64) + np.uint64(2)).T @ _state_weights(n)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    if not np.array_equal(trans[:, first[inv]], trans):
        _, first, inv = np.unique(trans.T, axis=0, return_index=True, return_inverse=True)
        inv = np.asarray(inv).reshape(-1)
    # renumber classes by first occurrence
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cls = rank[inv].astype(np.int32)
    reps = np.sort(first).astype(np.int64)
    return cls, len(first), reps


class ByteDFA:
    """Deterministic automaton over bytes 0..255.

    ``trans``: int32 [n_states, 256], ``DEAD`` (-1) = no transition; ``accept``: bool [n_states];
    ``start``: the start state (0 after :meth:`minimize`).
    """

    __slots__ = ("trans", "accept", "start", "_live", "_classes")

    def __init__(self, trans, accept, start: int = 0):
        self.trans = np.ascontiguousarray(trans, dtype=np.int32)
        self.accept = np.ascontiguousarray(accept, dtype=bool)
        if self.trans.ndim != 2 or self.trans.shape[1] != 256:
            raise ValueError("trans must have shape [n_states, 256]")
        if self.accept.shape != (self.trans.shape[0],):
            raise ValueError("accept must have shape [n_states]")
        self.start = int(start)
        self._live = None
        self._classes = None

    # ------------------------------------------------------------------ basics
    @property
    def n_states(self) -> int:
        return self.trans.shape[0]

    def __repr__(self) -> str:
        return f"ByteDFA(n_states={self.n_states}, n_accept={int(self.accept.sum())}, start={self.start})"

    def step(self, state: int, byte: int) -> int:
        if state < 0:
            return DEAD
        return int(self.trans[state, byte])

    def run(self, data: bytes, state: int | None = None) -> int:
        """State after reading ``data`` from ``state`` (default: start); DEAD once dead."""
        q = self.start if state is None else int(state)
        trans = self.trans
        for b in data:
            if q < 0:
                return DEAD
            q = int(trans[q, b])
        return q

    def fullmatch(self, data: bytes) -> bool:
        q = self.run(data)
        return q >= 0 and bool(self.accept[q])

    def copy(self) -> "ByteDFA":
        return ByteDFA(self.trans.copy(), self.accept.copy(), self.start)

    # ------------------------------------------------------------------ graph queries
    def _edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Unique (src, dst) pairs of the transition graph."""
        n = self.n_states
        src, byte = np.nonzero(self.trans >= 0)
        dst = self.trans[src, byte].astype(np.int64)
        key = np.unique(src.astype(np.int64) * max(n, 1) + dst)
        return (key // max(n, 1)), (key % max(n, 1))

    def reachable(self, start: int | None = None) -> np.ndarray:
        """bool [n]: reachable from ``start`` (default: the start state)."""
        n = self.n_states
        seen = np.zeros(n, bool)
        s = self.start if start is None else start
        if n == 0 or s < 0:
            return seen
        seen[s] = True
        frontier = np.array([s])
        while frontier.size:
            t = self.trans[frontier].ravel()
            t = t[t >= 0]
            t = np.unique(t)
            t = t[~seen[t]]
            seen[t] = True
            frontier = t
        return seen

    def _backward_bfs(self, targets: np.ndarray) -> np.ndarray:
        """int32 [n]: fewest bytes from each state to a state in ``targets`` (bool [n]); -1 if none."""
        n = self.n_states
        dist = np.full(n, -1, np.int32)
        if n == 0:
            return dist
        src, dst = self._edges()
        order = np.argsort(dst, kind="stable")
        src, dst = src[order], dst[order]
        indptr = np.searchsorted(dst, np.arange(n + 1))
        frontier = np.nonzero(targets)[0]
        dist[frontier] = 0
        d = 0
        while frontier.size:
            d += 1
            parts = [src[indptr[v]:indptr[v + 1]] for v in frontier.tolist()]
            if not parts:
                break
            preds = np.unique(np.concatenate(parts))
            preds = preds[dist[preds] < 0]
            dist[preds] = d
            frontier = preds
        return dist

    def min_accept_len(self) -> np.ndarray:
        """int32 [n]: fewest bytes from each state to acceptance (0 if accepting), -1 if none (BFS)."""
        return self._backward_bfs(self.accept)

    def max_accept_len(self) -> int | None:
        """Length of the longest accepted string; None if there is no longest (a cycle on a path from the start to
        acceptance) and -1 if nothing is accepted."""
        if self.is_empty():
            return -1
        useful = self.reachable() & self.live()
        src, dst = self._edges()
        keep = useful[src] & useful[dst]
        src, dst = src[keep], dst[keep]
        # longest path in the useful subgraph (a DAG unless the language is infinite): Kahn's order; every useful
        # state is reachable from the start, so in a DAG the start is the only one without predecessors
        n = self.n_states
        indeg = np.bincount(dst, minlength=n)
        succ = [[] for _ in range(n)]
        for a, b in zip(src.tolist(), dst.tolist()):
            succ[a].append(b)
        dist = np.full(n, -1, np.int64)
        dist[self.start] = 0
        order = [int(q) for q in np.flatnonzero(useful & (indeg == 0))]
        seen = 0
        while order:
            q = order.pop()
            seen += 1
            for r in succ[q]:
                dist[r] = max(dist[r], dist[q] + 1)
                indeg[r] -= 1
                if indeg[r] == 0:
                    order.append(r)
        if seen < int(useful.sum()):
            return None
        return int(dist[useful & self.accept].max())

    def live(self) -> np.ndarray:
        """bool [n]: an accepting state is reachable (with ≥ 0 bytes)."""
        if self._live is None:
            self._live = self.min_accept_len() >= 0
        return self._live

    def ext_live(self) -> np.ndarray:
        """bool [n]: an accepting state is reachable with ≥ 1 byte."""
        live = self.live()
        t = self.trans
        return np.any((t >= 0) & live[np.where(t >= 0, t, 0)], axis=1)

    def is_empty(self) -> bool:
        if self.n_states == 0 or self.start < 0:
            return True
        return not bool(self.live()[self.start])

    def byte_classes(self) -> tuple[np.ndarray, int]:
        """(int32 [256] class id per byte, number of classes): bytes with identical columns share a class."""
        if self._classes is None:
            cls, k, _ = _byte_classes_of(self.trans)
            self._classes = (cls, k)
        return self._classes

    # ------------------------------------------------------------------ minimisation
    def trim(self) -> tuple["ByteDFA", np.ndarray]:
        """Keep only states that are reachable from the start and can reach acceptance.

        Returns (trimmed DFA, old state id per new state). An empty language gives a single
        non-accepting start state without transitions.
        """
        keep = self.reachable() & self.live() if self.n_states else np.zeros(0, bool)
        if self.n_states == 0 or not keep[self.start]:
            return ByteDFA(np.full((1, 256), DEAD, np.int32), np.zeros(1, bool), 0), np.array([self.start])
        old = np.nonzero(keep)[0]
        new_id = np.full(self.n_states + 1, DEAD, np.int32)  # index -1 → DEAD
        new_id[old] = np.arange(len(old), dtype=np.int32)
        t = self.trans[old]
        t = new_id[t]  # DEAD (-1) maps to new_id[-1] == DEAD; removed states map to DEAD
        return ByteDFA(t, self.accept[old], int(new_id[self.start])), old

    def minimize(self, partition_key: Callable[[int], Hashable] | None = None) -> "ByteDFA":
        """Minimal trimmed DFA of the same language (Moore's partition refinement).

        States are renumbered in breadth-first order from the start (start = 0, bytes in
        increasing order), so equal languages give identical tables (canonical form).
        ``partition_key(state)`` (a state of *this* DFA) refines the initial partition: states
        with different keys are never merged (the lexer keys states by their label set).
        """
        d, old = self.trim()
        n = d.n_states
        if n == 0:
            return d
        # initial partition: (accepting, key)
        if partition_key is None:
            init = d.accept.astype(np.int64)
        else:
            ids: dict = {}
            init = np.array([ids.setdefault((bool(d.accept[i]), partition_key(int(old[i]))), len(ids))
                             for i in range(n)], np.int64)
        _, cls = np.unique(init, return_inverse=True)
        cls = cls.reshape(-1).astype(np.int64)
        _, k, reps = _byte_classes_of(d.trans)
        T = d.trans[:, reps]
        valid = T >= 0
        Tz = np.where(valid, T, 0)
        init_cls = cls
        cls = _moore_hashed(cls, valid, Tz)
        if not _partition_stable(cls, init_cls, valid, Tz):  # a hash collision merged states
            cls = _moore_exact(init_cls, valid, Tz)
        n_cls = int(cls.max()) + 1
        # quotient automaton
        rep_state = np.zeros(n_cls, np.int64)
        rep_state[cls] = np.arange(n)
        qt = d.trans[rep_state]
        qt = np.where(qt >= 0, cls[np.where(qt >= 0, qt, 0)], DEAD).astype(np.int32)
        qa = d.accept[rep_state]
        return _canonical(qt, qa, int(cls[d.start]))

    # ------------------------------------------------------------------ derived languages
    def prefix_dfa(self) -> "ByteDFA":
        """Accepts every prefix of a word of L (including ε when L is non-empty, and L itself)."""
        d, _ = self.trim()
        if d.is_empty():
            return d
        # after trimming every state is reachable and live
        return ByteDFA(d.trans, np.ones(d.n_states, bool), d.start).minimize()

    def suffix_dfa(self) -> "ByteDFA":
        """Accepts every suffix of a word of L (including L itself and ε when L is non-empty).

        Construction: start from the *set of all* reachable-and-live states (an automaton with
        several initial states) and determinize it by the subset construction: v is accepted iff
        some reachable live state q reaches acceptance on v, i.e. iff u·v ∈ L for some u.
        """
        d, _ = self.trim()
        if d.is_empty():
            return d
        trans, sets = determinize_tables(d.trans, [range(d.n_states)])
        acc = np.array([bool(d.accept[list(s)].any()) for s in sets], bool)
        return ByteDFA(trans, acc, 0).minimize()

    def shortest_match_dfa(self) -> "ByteDFA":
        """Accepts the words of L that have no proper prefix in L (transitions out of accepting
        states removed). This is the language ``re.match`` produces for a lazy tail such as
        ``/\\*(.|\\n)*?\\*/`` (stop at the first ``*/``); the lexer itself uses full ``L`` (longest match)."""
        d, _ = self.trim()
        t = d.trans.copy()
        t[d.accept] = DEAD
        return ByteDFA(t, d.accept, d.start).minimize()

    def reverse_dfa(self) -> "ByteDFA":
        """Accepts the byte-reversed words of L (reverse edges + subset construction)."""
        d, _ = self.trim()
        if d.is_empty():
            return d
        n = d.n_states
        # reversed NFA: for each (dst, byte) the set of src
        preds: list[dict] = [dict() for _ in range(n)]
        src, byte = np.nonzero(d.trans >= 0)
        dst = d.trans[src, byte]
        for s, b, t in zip(src.tolist(), byte.tolist(), dst.tolist()):
            preds[t].setdefault(b, []).append(s)
        start = frozenset(np.nonzero(d.accept)[0].tolist())
        ids = {start: 0}
        todo = [start]
        rows = []
        accs = []
        while todo:
            S = todo.pop()
            row = np.full(256, DEAD, np.int32)
            acc = d.start in S
            tgt: dict = {}
            for q in S:
                for b, ss in preds[q].items():
                    tgt.setdefault(b, set()).update(ss)
            for b, ss in tgt.items():
                key = frozenset(ss)
                j = ids.get(key)
                if j is None:
                    j = ids[key] = len(ids)
                    todo.append(key)
                row[b] = j
            rows.append((ids[S], row, acc))
        trans = np.full((len(ids), 256), DEAD, np.int32)
        accept = np.zeros(len(ids), bool)
        for i, row, acc in rows:
            trans[i] = row
            accept[i] = acc
        return ByteDFA(trans, accept, 0).minimize()

    def union(self, other: "ByteDFA") -> "ByteDFA":
        return product_dfa(self, other, lambda a, b: a or b).minimize()

    def intersect(self, other: "ByteDFA") -> "ByteDFA":
        """Minimal DFA of both languages (the product over the pairs where both live, on the joint byte classes)."""
        return self._product(other, False)

    def minus(self, other: "ByteDFA") -> "ByteDFA":
        """Minimal DFA of the words of this language that ``other`` does not accept."""
        return self._product(other, True)

    def _product(self, other: "ByteDFA", negate: bool) -> "ByteDFA":
        a, b = self.trim()[0], other.trim()[0]
        cls, _, reps = _byte_classes_of(np.concatenate([a.trans, b.trans]))
        R, acc = _and_product(np.ascontiguousarray(a.trans[:, reps]), np.ascontiguousarray(b.trans[:, reps]),
                              a.accept, b.accept, a.start, b.start, negate)
        return ByteDFA(np.ascontiguousarray(R[:, cls]), acc, 0).minimize()

    def equivalent(self, other: "ByteDFA") -> bool:
        """Language equality (compares canonical minimal forms)."""
        a, b = self.minimize(), other.minimize()
        return (a.n_states == b.n_states and np.array_equal(a.trans, b.trans)
                and np.array_equal(a.accept, b.accept))


def _signature(cls: np.ndarray, valid: np.ndarray, Tz: np.ndarray) -> np.ndarray:
    tc = np.where(valid, cls[Tz], -1)
    return np.concatenate([cls[:, None], tc], axis=1)


def _moore_exact(cls: np.ndarray, valid: np.ndarray, Tz: np.ndarray) -> np.ndarray:
    """Moore refinement comparing whole signature rows (exact, slower)."""
    n_cls = int(cls.max()) + 1
    while True:
        _, new = np.unique(_signature(cls, valid, Tz), axis=0, return_inverse=True)
        new = new.reshape(-1).astype(np.int64)
        m = int(new.max()) + 1
        cls = new
        if m == n_cls:
            return cls
        n_cls = m


_HASH_W = np.random.default_rng(12345).integers(1, 2**63 - 1, size=1024, dtype=np.int64).astype(np.uint64) | np.uint64(1)


def _moore_hashed(cls: np.ndarray, valid: np.ndarray, Tz: np.ndarray) -> np.ndarray:
    """Moore refinement with signature rows hashed to one uint64 (a random linear hash mod 2^64).

    A collision can only merge classes; :func:`_partition_stable` detects that afterwards. The rounds run in numba
    (:func:`_moore_rounds`): a chain of n states (a bounded repetition ``x{0,255}``) needs n rounds."""
    k = valid.shape[1]
    if k + 1 > len(_HASH_W):
        return _moore_exact(cls, valid, Tz)
    return _moore_rounds(np.ascontiguousarray(cls, np.int64), np.ascontiguousarray(valid),
                         np.ascontiguousarray(Tz, np.int64), _HASH_W[:k + 1])


def _moore_hashed_np(cls: np.ndarray, valid: np.ndarray, Tz: np.ndarray) -> np.ndarray:
    """The numpy rounds of :func:`_moore_hashed` (the reference of :func:`_moore_rounds` in the tests)."""
    k = valid.shape[1]
    w = _HASH_W[:k + 1]
    n_cls = int(cls.max()) + 1
    with np.errstate(over="ignore"):
        while True:
            sig = _signature(cls, valid, Tz).astype(np.uint64)  # -1 wraps to 2^64-1: still a distinct value
            h = sig @ w
            # group by (current class, hash): always a refinement of the current partition, so the
            # number of classes never decreases and the loop terminates
            order = np.lexsort((h, cls))
            hs, cs = h[order], cls[order]
            brk = np.empty(len(order), bool)
            brk[0] = True
            brk[1:] = (hs[1:] != hs[:-1]) | (cs[1:] != cs[:-1])
            new = np.empty(len(order), np.int64)
            new[order] = np.cumsum(brk) - 1
            m = int(new.max()) + 1
            cls = new
            if m == n_cls:
                return cls
            n_cls = m


@nb.njit(cache=True, nogil=True)
def _moore_rounds(cls, valid, Tz, w):
    """Moore rounds: classes split by (class, hash of the successors' classes) until no class splits."""
    n, k = Tz.shape
    n_cls = cls.max() + 1 if n else 0
    h = np.empty(n, np.uint64)
    new = np.empty(n, np.int64)
    while True:
        for s in range(n):
            x = np.uint64(cls[s]) * w[0]
            for c in range(k):
                t = np.uint64(cls[Tz[s, c]]) if valid[s, c] else np.uint64(0xFFFFFFFFFFFFFFFF)
                x += t * w[c + 1]
            h[s] = x
        o1 = np.argsort(h, kind="mergesort")
        order = o1[np.argsort(cls[o1], kind="mergesort")]
        m = 0
        for a in range(n):
            s = order[a]
            if a > 0:
                p = order[a - 1]
                if h[s] != h[p] or cls[s] != cls[p]:
                    m += 1
            new[s] = m
        m = m + 1 if n else 0
        cls = new.copy()
        if m == n_cls:
            return cls
        n_cls = m


def _partition_stable(cls: np.ndarray, init: np.ndarray, valid: np.ndarray, Tz: np.ndarray) -> bool:
    """Every class has one exact signature and lies inside one initial class."""
    n_cls = int(cls.max()) + 1
    rep = np.zeros(n_cls, np.int64)
    rep[cls] = np.arange(len(cls))
    if not np.array_equal(init, init[rep[cls]]):
        return False
    sig = _signature(cls, valid, Tz)
    return bool(np.array_equal(sig, sig[rep[cls]]))


@nb.njit(cache=True, nogil=True)
def _bfs_order(rows, start):
    """Breadth-first order from ``start`` over the class table ``rows`` (columns ascending): (states in order,
    position of each state or -1)."""
    n = rows.shape[0]
    order = np.full(n, -1, np.int64)
    seq = np.empty(n, np.int64)
    seq[0] = start
    order[start] = 0
    m = 1
    i = 0
    while i < m:
        q = seq[i]
        i += 1
        for c in range(rows.shape[1]):
            t = rows[q, c]
            if t >= 0 and order[t] < 0:
                order[t] = m
                seq[m] = t
                m += 1
    return seq[:m], order


@nb.njit(cache=True, nogil=True)
def pair_bfs(rows_a, rows_b, sa, sb):
    """For every state of ``rows_a`` reachable from ``sa``, a state of ``rows_b`` reached by the same input from
    ``sb`` (breadth first over the pairs; the tables share their columns): -1 where unreachable."""
    rep = np.full(rows_a.shape[0], -1, np.int64)
    qa = np.empty(rows_a.shape[0], np.int64)
    qb = np.empty(rows_a.shape[0], np.int64)
    rep[sa] = sb
    qa[0], qb[0] = sa, sb
    m = 1
    i = 0
    while i < m:
        p, r = qa[i], qb[i]
        i += 1
        for c in range(rows_a.shape[1]):
            p2 = rows_a[p, c]
            if p2 >= 0 and rep[p2] < 0:
                rep[p2] = rows_b[r, c]
                qa[m], qb[m] = p2, rows_b[r, c]
                m += 1
    return rep


def _canonical(trans: np.ndarray, accept: np.ndarray, start: int) -> ByteDFA:
    """Renumber states in BFS order from ``start`` (bytes ascending); drops unreachable states."""
    n = trans.shape[0]
    # the smallest byte of each class is its representative, so scanning representatives in
    # increasing order meets targets in the same order as scanning all 256 bytes
    _, _, reps = _byte_classes_of(trans)
    seq_a, order_a = _bfs_order(np.ascontiguousarray(trans[:, reps]), start)
    remap = np.full(n + 1, DEAD, np.int32)
    remap[:n] = np.where(order_a >= 0, order_a, DEAD)
    t = remap[trans[seq_a]]
    return ByteDFA(t, accept[seq_a], 0)


@nb.njit(cache=True, nogil=True)
def _hash(a, lo, hi):
    h = np.int64(1469598103934665603)      # FNV-1a over the members
    for i in range(lo, hi):
        h = (h ^ a[i]) * np.int64(1099511628211)
    return h


@nb.njit(cache=True, nogil=True)
def _lookup(buf, n, pool, off, htab):
    """(free or matching slot, subset id or -1) of the sorted members ``buf[:n]`` (open addressing)."""
    m = htab.shape[0] - 1
    slot = _hash(buf, 0, n) & m
    while htab[slot] >= 0:
        q = htab[slot]
        if off[q + 1] - off[q] == n:
            same = True
            for a in range(n):
                if pool[off[q] + a] != buf[a]:
                    same = False
                    break
            if same:
                return slot, q
        slot = (slot + 1) & m
    return slot, -1


@nb.njit(cache=True, nogil=True)
def _append(buf, n, pool, off, M):
    """Store ``buf[:n]`` as subset M (``off`` must have room); returns the (possibly grown) pool."""
    if off[M] + n > pool.shape[0]:
        p2 = np.empty(max(2 * pool.shape[0], off[M] + n), np.int32)
        p2[:off[M]] = pool[:off[M]]
        pool = p2
    for a in range(n):
        pool[off[M] + a] = buf[a]
    off[M + 1] = off[M] + n
    return pool


@nb.njit(cache=True, nogil=True)
def _room(M, i, k, off, R, htab, pool):
    """Room for the k subsets that row i of a subset construction may add: ``off``/``R`` grown (rows before i
    kept), the hash table of the M subsets in ``pool`` rebuilt larger when it would fill beyond half."""
    if M + k + 1 > R.shape[0]:
        cap = 2 * (M + k + 1)
        o2 = np.zeros(cap + 1, np.int64)
        o2[:M + 1] = off[:M + 1]
        off = o2
        R2 = np.empty((cap, k), np.int32)
        R2[:i] = R[:i]
        R = R2
    if 2 * (M + k) > htab.shape[0]:
        htab = rehash(pool, off, M, 2 * (M + k))
    return off, R, htab


@nb.njit(cache=True, nogil=True)
def rehash(pool, off, M, need):
    """A new open-addressing table (a power of two >= ``need``, at least the old size's double) of the M sets."""
    hsize = 4096
    while hsize < need:
        hsize *= 2
    htab = np.full(hsize, -1, np.int64)
    for q in range(M):
        slot = _hash(pool, off[q], off[q + 1]) & (hsize - 1)
        while htab[slot] >= 0:
            slot = (slot + 1) & (hsize - 1)
        htab[slot] = q
    return htab


@nb.njit(cache=True, nogil=True)
def insert_sorted(buf, n, t):
    """Insert t into the sorted distinct ``buf[:n]`` (kept distinct); the new size."""
    b = n - 1
    while b >= 0 and buf[b] > t:
        b -= 1
    if b >= 0 and buf[b] == t:
        return n
    for z in range(n, b + 1, -1):
        buf[z] = buf[z - 1]
    buf[b + 1] = t
    return n + 1


@nb.njit(cache=True, nogil=True)
def _subsets(Tr, start_pool, start_off):
    """Subset construction over the class table ``Tr`` [N, k] (numba). Subsets are sorted member arrays
    in ``pool[off[i]:off[i+1]]``, found again through an open-addressing hash table (hash of the
    members, exact comparison). The first subsets are the (sorted, distinct) start sets, in order
    (a start set equal to an earlier one is not added again). Returns (R [M, k], pool, off)."""
    k = Tr.shape[1]
    n_start = len(start_off) - 1
    cap = max(1024, 2 * n_start)
    pool = np.empty(4096, np.int32)
    off = np.zeros(cap + 1, np.int64)
    R = np.empty((cap, k), np.int32)
    hsize = 4096
    while hsize < 4 * cap:
        hsize *= 2
    htab = np.full(hsize, -1, np.int64)
    M = 0
    buf = np.empty(max(Tr.shape[0], len(start_pool)) + 1, np.int32)
    for si in range(n_start):
        n = 0
        for j in range(start_off[si], start_off[si + 1]):
            buf[n] = start_pool[j]
            n += 1
        buf[:n].sort()
        m = 0
        for a in range(n):
            if m == 0 or buf[a] != buf[m - 1]:
                buf[m] = buf[a]
                m += 1
        slot, found = _lookup(buf, m, pool, off, htab)
        if found < 0:
            pool = _append(buf, m, pool, off, M)
            htab[slot] = M
            M += 1
    i = 0
    while i < M:
        off, R, htab = _room(M, i, k, off, R, htab, pool)
        lo = off[i]
        hi = off[i + 1]
        for c in range(k):
            n = 0
            for a in range(lo, hi):
                t = Tr[pool[a], c]
                if t < 0:
                    continue
                n = insert_sorted(buf, n, t)       # members are few
            if n == 0:
                R[i, c] = -1
                continue
            slot, found = _lookup(buf, n, pool, off, htab)
            if found < 0:
                pool = _append(buf, n, pool, off, M)
                htab[slot] = M
                found = M
                M += 1
            R[i, c] = found
        i += 1
    return R[:M], pool[:off[M]], off[:M + 1]


def determinize_tables(T: np.ndarray, start_sets: Iterable[Iterable[int]]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Subset construction over a table ``T`` [N, 256] (DEAD = -1) read as an NFA.

    Each row of ``T`` is deterministic; nondeterminism comes only from a subset of states being
    active at once (several start states, or several concatenated component DFAs — a sparse
    product automaton). ``start_sets`` lists the initial subsets; subset i gets DFA state i (when
    distinct). Returns (trans [M, 256] int32, the sorted tuple of T-states of each DFA state).
    The empty subset is never created (it is DEAD).
    """
    T = np.ascontiguousarray(T, dtype=np.int32)
    cls, k, reps = _byte_classes_of(T)
    Tr = np.ascontiguousarray(T[:, reps])  # N × k
    starts = [np.asarray(list(s), np.int32) for s in start_sets]
    R, pool, off = _subsets(Tr, np.concatenate(starts + [np.zeros(0, np.int32)]),
                            np.cumsum([0] + [len(x) for x in starts]).astype(np.int64))
    members = pool.tolist()
    bounds = off.tolist()
    sets = [tuple(members[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)]
    return np.ascontiguousarray(R[:, cls]), sets


def _determinize_tables_py(T: np.ndarray, start_sets) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Plain-Python reference of :func:`determinize_tables` (for the tests)."""
    T = np.ascontiguousarray(T, dtype=np.int32)
    cls, k, reps = _byte_classes_of(T)
    Tr = T[:, reps]  # N × k
    ids: dict = {}
    sets: list = []
    rows: list = []
    for s in start_sets:
        key = tuple(sorted(set(int(x) for x in s)))
        if key not in ids:
            ids[key] = len(sets)
            sets.append(key)
    i = 0
    while i < len(sets):
        S = sets[i]
        i += 1
        sub = Tr[list(S)]
        row = [DEAD] * k
        for c, col in enumerate(sub.T.tolist()):
            tgt = set(col)
            tgt.discard(DEAD)
            if not tgt:
                continue
            key = tuple(sorted(tgt))
            j = ids.get(key)
            if j is None:
                j = ids[key] = len(sets)
                sets.append(key)
            row[c] = j
        rows.append(row)
    R = np.array(rows, np.int32).reshape(len(sets), k)
    return np.ascontiguousarray(R[:, cls]), sets


@nb.njit(cache=True, nogil=True)
def _and_product(A, B, acc_a, acc_b, sa, sb, negate):
    """Reachable pairs of the product of two class tables: (R [M, k], accept [M]). Accepting where both accept
    (DEAD where either side dies), or with ``negate`` where A accepts and B does not (B's death is then a
    non-accepting sink, state ``len(B)``)."""
    na, k = A.shape
    nb_ = B.shape[0] + 1
    idx = {}
    qa = np.empty(1024, np.int64)
    qb = np.empty(1024, np.int64)
    R = np.empty((1024, k), np.int32)
    qa[0], qb[0] = sa, sb
    idx[sa * nb_ + sb] = 0
    M = 1
    i = 0
    while i < M:
        p, q = qa[i], qb[i]
        for c in range(k):
            x = A[p, c]
            y = B[q, c] if q < nb_ - 1 else -1
            if x < 0 or (y < 0 and not negate):
                R[i, c] = -1
                continue
            if y < 0:
                y = nb_ - 1
            key = x * nb_ + y
            j = idx.get(key, -1)
            if j < 0:
                if M == qa.shape[0]:
                    n2 = 2 * M
                    a2 = np.empty(n2, np.int64)
                    a2[:M] = qa
                    qa = a2
                    b2 = np.empty(n2, np.int64)
                    b2[:M] = qb
                    qb = b2
                    r2 = np.empty((n2, k), np.int32)
                    r2[:M] = R[:M]
                    R = r2
                j = M
                idx[key] = j
                qa[M], qb[M] = x, y
                M += 1
            R[i, c] = j
        i += 1
    acc = np.zeros(M, np.bool_)
    for j in range(M):
        in_b = qb[j] < nb_ - 1 and acc_b[qb[j]]
        acc[j] = acc_a[qa[j]] and (not in_b if negate else in_b)
    return R[:M], acc


def product_dfa(a: ByteDFA, b: ByteDFA, combine: Callable[[bool, bool], bool]) -> ByteDFA:
    """Product automaton of ``a`` and ``b`` with acceptance ``combine(acc_a, acc_b)``.

    A dead component is tracked as DEAD (so union keeps running on the live side). Not minimized.
    """
    ids = {(a.start, b.start): 0}
    todo = [(a.start, b.start)]
    rows = []
    accs = []
    i = 0
    while i < len(todo):
        p, q = todo[i]
        i += 1
        ra = a.trans[p] if p >= 0 else np.full(256, DEAD, np.int32)
        rb = b.trans[q] if q >= 0 else np.full(256, DEAD, np.int32)
        pairs = ra.astype(np.int64) * (b.n_states + 1) + (rb.astype(np.int64) + 1)
        row = np.full(256, DEAD, np.int32)
        uniq, inv = np.unique(pairs, return_inverse=True)
        inv = inv.reshape(-1)
        dest = []
        for key in uniq.tolist():
            pa, pb = key // (b.n_states + 1), key % (b.n_states + 1) - 1
            if pa == DEAD and pb == DEAD:
                dest.append(DEAD)
                continue
            st = (pa, pb)
            j = ids.get(st)
            if j is None:
                j = ids[st] = len(todo)
                todo.append(st)
            dest.append(j)
        row[:] = np.array(dest, np.int32)[inv]
        rows.append(row)
        accs.append(combine(bool(p >= 0 and a.accept[p]), bool(q >= 0 and b.accept[q])))
    return ByteDFA(np.array(rows, np.int32).reshape(-1, 256), np.array(accs, bool), 0)

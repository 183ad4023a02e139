"""Partial outputs (text pieces and holes) as a nondeterministic automaton over lexer label sets.

Pieces → pattern
    The pieces are flattened into *pattern states* ``0..M``: state ``p < M`` is either a text
    byte (a deterministic step to ``p+1``) or a hole (a loop on every byte, plus an ε-move to
    ``p+1``); ``M`` is final. Adjacent texts concatenate, adjacent holes merge.

Lexer configurations
    A byte-level configuration is ``(p, q, S)``: pattern state ``p``; ``q`` the union-DFA state
    of the lexeme being read (``FRESH`` = no lexeme started); ``S`` the sorted tuple of union-DFA
    states of the continuations of *earlier* lexemes that must never reach acceptance (the
    maximal-munch rule: a lexeme ending in state ``q`` is the longest match iff no non-empty
    prefix of the remaining input drives ``q`` to an accepting state). A byte ``b`` moves every
    ``s ∈ S`` to ``δ(s,b)`` (dead or non-``ext_live`` states are dropped; reaching acceptance
    kills the configuration) and ``q`` to ``δ(q,b)``. At an accepting ``q`` the lexeme may end:
    it emits the label set of ``q`` (nothing if the set contains an ignored terminal), ``q`` joins
    ``S`` and a new lexeme starts. The output must end with no lexeme in progress.

Token-boundary NFA
    Nodes are boundary configurations ``(p, S)`` (``q = FRESH``). An edge ``(p,S) → (p',S')``
    carries an accepting union state (its label set), or ε for ignored lexemes and hole exits;
    it exists iff a byte walk in between reads exactly one lexeme. Walks are explored with a
    0-1 BFS whose cost counts bytes read inside *costed* holes (bounded holes, or every hole for
    ``complete()``), so each edge carries the minimum number of hole bytes it needs and a
    witness byte string per hole. Inside a hole the successors of ``(q, S)`` do not depend on
    the pattern; they are cached per grammar (``HoleGraph``) and enumerated per byte class.
    Edges are computed lazily, only for nodes the parser reaches, and ε-edges are removed
    (ε-closure with minimum costs) before the parser sees them.
"""
from __future__ import annotations

import functools
from collections import deque

import numba as nb
import numpy as np

from .automata import _append, _lookup, insert_sorted, rehash

DEAD = -1


class HoleGraph:
    """Per-grammar cache: byte-class successors of lexer configurations ``(q, S)``."""

    def __init__(self, lexer):
        self.lexer = lexer
        dfa = lexer.dfa
        self.trans = np.asarray(dfa.trans)
        self.accept = np.asarray(dfa.accept, dtype=bool)
        self.start = int(dfa.start)
        self.n = int(self.trans.shape[0])
        self.FRESH = self.n
        self.ext_live = np.asarray(lexer.ext_live, dtype=bool)
        self.ignored = np.asarray(lexer.ignored, dtype=bool)
        bc = np.asarray(lexer.byte_class)
        reps = {}
        for b in range(256):
            reps.setdefault(int(bc[b]), b)
        self.class_reps = [reps[c] for c in sorted(reps)]
        self.labels = [tuple(x) for x in lexer.labels]
        self._succ = {}
        self._build_canon()

    # python lists for speed in the reference code, made when it first runs (a compile for the numba path needs none
    # of them: a large lexer's table as lists is ~10^5-10^6 objects for the collector to scan)
    @functools.cached_property
    def _tl(self):
        return self.trans.tolist()

    @functools.cached_property
    def _acc(self):
        return self.accept.tolist()

    @functools.cached_property
    def _el(self):
        return self.ext_live.tolist()

    @functools.cached_property
    def _canon(self):
        """Set -> canonical representative, as tuples (for the Python reference code; built on first use)."""
        pool, off, nS, rep = self._canon_src
        members, bounds = pool[:off[nS]].tolist(), off[:nS + 1].tolist()
        sets = [tuple(members[bounds[i]:bounds[i + 1]]) for i in range(nS)]
        return {S: sets[r] for S, r in zip(sets, rep.tolist())}

    # -- equivalence of lookahead sets ------------------------------------------
    def _step_S(self, S, b):
        tl, acc, el = self._tl, self._acc, self._el
        out = set()
        for s in S:
            t = tl[s][b]
            if t == DEAD:
                continue
            if acc[t]:
                return None
            if el[t]:
                out.add(t)
        return tuple(sorted(out))

    def _build_canon(self):
        """Merge lookahead sets S with the same constraint language.

        ``C(S)`` = byte strings ``v`` such that no ``s ∈ S`` reaches acceptance on a non-empty
        prefix of ``v``. Configurations ``(q, S1)`` and ``(q, S2)`` with ``C(S1) = C(S2)`` behave
        identically, so every S is replaced by a canonical representative of its class. Classes
        come from Moore minimisation of the S-automaton (all S reachable from any lexer
        configuration; every pattern's configurations are among them, since a hole reads any
        bytes). Built once per grammar, in numba (:func:`_explore_raw`); :meth:`_build_canon_py` is the reference."""
        from .automata import _moore_exact, _moore_hashed, _partition_stable

        Tk = np.ascontiguousarray(self.trans[:, self.class_reps], np.int64)
        acc, el = self.accept, np.ascontiguousarray(self.ext_live, np.bool_)
        n_seen, St, pool, off, htab = _explore_raw(Tk, acc, el, self.start, self.FRESH)
        nS = St.shape[0]
        valid = St >= 0
        Tz = np.where(valid, St, 0).astype(np.int64)
        init = np.zeros(nS, np.int64)
        part = _moore_hashed(init, valid, Tz)
        if not _partition_stable(part, init, valid, Tz):
            part = _moore_exact(init, valid, Tz)
        members = pool[:off[nS]].tolist()
        bounds = off[:nS + 1].tolist()
        sets = [tuple(members[bounds[i]:bounds[i + 1]]) for i in range(nS)]
        best: dict = {}   # class -> the id of its first (shortest, then smallest) set
        for i, S in enumerate(sets):
            c = int(part[i])
            j = best.get(c)
            if j is None or (len(S), S) < (len(sets[j]), sets[j]):
                best[c] = i
        rep = np.array([best[int(c)] for c in part], np.int64)
        self._canon_src = (pool, off, nS, rep)
        self._nb = (Tk, acc, el, pool, off, htab, rep)     # for ConfigTables
        self._succ = {}
        self.n_configs = int(n_seen)
        self.n_lookahead_classes = len(best)

    def _build_canon_py(self):
        """Plain-Python :meth:`_build_canon` (the reference in the tests): the same ``_canon``."""
        FRESH = self.FRESH
        self._canon = None
        self._succ = {}
        seen = {(FRESH, ())}
        stack = [(FRESH, ())]
        while stack:
            q, S = stack.pop()
            nx = [(q2, S2) for _, q2, S2 in self.succ(q, S)]
            if q != FRESH and self._acc[q]:
                nx.append((FRESH, self.end_lexeme(q, S)))
            for c in nx:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        Ss = sorted({S for _, S in seen})
        idx = {S: i for i, S in enumerate(Ss)}
        rows = []
        i = 0
        while i < len(Ss):
            row = []
            for b in self.class_reps:
                r = self._step_S(Ss[i], b)
                if r is None:
                    row.append(-1)
                    continue
                if r not in idx:
                    idx[r] = len(Ss)
                    Ss.append(r)
                row.append(idx[r])
            rows.append(row)
            i += 1
        tab = np.array(rows, np.int64).reshape(len(Ss), len(self.class_reps))
        part = np.zeros(len(Ss), np.int64)
        n_part = 1
        while True:
            succ = np.where(tab >= 0, part[np.maximum(tab, 0)], -1)
            sig = np.concatenate([part[:, None], succ], 1)
            _, new = np.unique(sig, axis=0, return_inverse=True)
            new = np.asarray(new).reshape(-1)
            n_new = int(new.max()) + 1 if len(new) else 0
            part = new
            if n_new == n_part:
                break
            n_part = n_new
        rep = {}
        canon = {}
        for S in Ss:  # representative: the first (shortest, then smallest) set of each class
            c = int(part[idx[S]])
            if c not in rep or (len(S), S) < (len(rep[c]), rep[c]):
                rep[c] = S
        for S in Ss:
            canon[S] = rep[int(part[idx[S]])]
        self._canon = canon
        self._succ = {}
        self.n_configs = len(seen)
        self.n_lookahead_classes = len(rep)

    def step(self, q, S, b):
        """One byte from configuration (q, S); None if the configuration dies."""
        tl = self._tl
        acc = self._acc
        el = self._el
        if S:
            ns = []
            for s in S:
                t = tl[s][b]
                if t == DEAD:
                    continue
                if acc[t]:
                    return None
                if el[t]:
                    ns.append(t)
            S2 = tuple(sorted(set(ns))) if len(ns) > 1 else tuple(ns)
        else:
            S2 = ()
        q2 = tl[self.start if q == self.FRESH else q][b]
        if q2 == DEAD:
            return None
        if self._canon is not None:
            S2 = self._canon.get(S2, S2)
        return q2, S2

    def succ(self, q, S):
        key = (q, S)
        r = self._succ.get(key)
        if r is None:
            r = []
            for b in self.class_reps:
                nx = self.step(q, S, b)
                if nx is not None:
                    r.append((b, nx[0], nx[1]))
            self._succ[key] = r
        return r

    def end_lexeme(self, q, S):
        """S after a lexeme ended in accepting state q."""
        if self._el[q] and q not in S:
            S = tuple(sorted(S + (q,)))
            if self._canon is not None:
                S = self._canon.get(S, S)
        return S


class Pattern:
    """Flattened pieces: ``kind[p]`` is a byte (0..255) or -1 for a hole; ``hole_of[p]`` the hole index."""

    def __init__(self, segments):
        # segments: list of ("t", bytes) | ("h", max_bytes|None)
        kind, hole_of, bounds = [], [], []
        for seg in segments:
            if seg[0] == "t":
                kind.extend(seg[1])
                hole_of.extend([-1] * len(seg[1]))
            else:
                kind.append(-1)
                hole_of.append(len(bounds))
                bounds.append(seg[1])
        self.kind = kind
        self.hole_of = hole_of
        self.bounds = bounds          # per hole: max bytes or None
        self.M = len(kind)
        self.hole_pos = [p for p, k in enumerate(kind) if k == -1]


class LexNFA:
    """Lazily built token-boundary NFA for one pattern (see module docstring)."""

    def __init__(self, hg: HoleGraph, pattern: Pattern, costed=frozenset(), keep_witness=False):
        self.hg = hg
        self.pat = pattern
        self.costed = set(costed)      # hole indices whose bytes cost 1 each
        self.keep_witness = keep_witness
        self.node_of = {}              # (p, S) -> id
        self.nodes = {}                # id -> (p, S)
        self.next_id = 0
        self._raw = {}                 # id -> (edges, reach): edges list of (label_q|-1, dst, cost, witness)
        self._comb = {}                # id -> (by_term, final_cost, reach, witness_for_final)

    # -- nodes -------------------------------------------------------------
    def node(self, p, S):
        key = (p, S)
        i = self.node_of.get(key)
        if i is None:
            i = self.next_id
            self.next_id += 1
            self.node_of[key] = i
            self.nodes[i] = key
        return i

    def pos(self, i):
        return self.nodes[i][0]

    # -- raw edges: one lexeme walk from a boundary --------------------------
    def raw_edges(self, u):
        r = self._raw.get(u)
        if r is not None:
            return r
        hg = self.hg
        pat = self.pat
        kind, hole_of, M = pat.kind, pat.hole_of, pat.M
        FRESH = hg.FRESH
        acc = hg._acc
        p0, S0 = self.nodes[u]
        start = (p0, FRESH, S0)
        dist = {start: 0}
        parent = {start: None} if self.keep_witness else None
        dq = deque([start])
        best = {}   # (label_q or -1, (p, S')) -> (cost, endconf)
        reach = p0
        while dq:
            conf = dq.popleft()
            d = dist[conf]
            p, q, S = conf
            if p > reach:
                reach = p
            if q != FRESH and acc[q]:
                lab = -1 if hg.ignored[q] else q
                tgt = (p, hg.end_lexeme(q, S))
                k = (lab, tgt)
                if k not in best or best[k][0] > d:
                    best[k] = (d, conf)
            if p >= M:
                continue
            k = kind[p]
            if k == -1:
                c = 1 if hole_of[p] in self.costed else 0
                nxt = [((p, q2, S2), c, b) for b, q2, S2 in hg.succ(q, S)]
                nxt.append(((p + 1, q, S), 0, None))
            else:
                s = hg.step(q, S, k)
                nxt = [] if s is None else [((p + 1, s[0], s[1]), 0, None)]
            for nc, c, b in nxt:
                nd = d + c
                od = dist.get(nc)
                if od is None or nd < od:
                    dist[nc] = nd
                    if parent is not None:
                        parent[nc] = (conf, b)
                    if c == 0:
                        dq.appendleft(nc)
                    else:
                        dq.append(nc)
        edges = []
        for (lab, (p, S)), (d, conf) in best.items():
            w = self._witness(parent, conf) if parent is not None else None
            edges.append((lab, self.node(p, S), d, w))
        # hole exit at a boundary: ε to the next pattern state
        if p0 < M and kind[p0] == -1:
            edges.append((-1, self.node(p0 + 1, S0), 0, () if self.keep_witness else None))
        r = (edges, reach)
        self._raw[u] = r
        return r

    def _witness(self, parent, conf):
        """Bytes read inside holes along the walk to conf: tuple of (hole_index, bytes)."""
        out = []
        while True:
            pr = parent[conf]
            if pr is None:
                break
            prev, b = pr
            if b is not None:
                out.append((self.pat.hole_of[prev[0]], b))
            conf = prev
        out.reverse()
        return tuple(out)

    # -- ε-free edges seen by the parser ------------------------------------
    def edges(self, u):
        """(by_term: dict terminal -> list[(dst, cost, witness)], final_cost|None, final_witness)."""
        r = self._comb.get(u)
        if r is not None:
            return r
        # ε-closure with minimum costs (Dijkstra; costs are small ints)
        import heapq
        dist = {u: 0}
        wit = {u: ()}
        h = [(0, u)]
        done = set()
        while h:
            d, w = heapq.heappop(h)
            if w in done:
                continue
            done.add(w)
            for lab, v, c, wt in self.raw_edges(w)[0]:
                if lab != -1:
                    continue
                nd = d + c
                if v not in dist or nd < dist[v]:
                    dist[v] = nd
                    if self.keep_witness:
                        wit[v] = wit[w] + wt
                    heapq.heappush(h, (nd, v))
        labels = self.hg.labels
        best = {}
        reach = self.pos(u)
        final = None
        final_w = None
        M = self.pat.M
        for w, dw in dist.items():
            edges, rch = self.raw_edges(w)
            if rch > reach:
                reach = rch
            if self.pos(w) == M and (final is None or dw < final):
                final = dw
                final_w = wit[w] if self.keep_witness else None
            for lab, v, c, wt in edges:
                if lab == -1:
                    continue
                for t in labels[lab]:
                    k = (t, v)
                    nd = dw + c
                    if k not in best or best[k][0] > nd:
                        best[k] = (nd, (wit[w] + wt) if self.keep_witness else None)
        by_term = {}
        for (t, v), (c, wt) in best.items():
            by_term.setdefault(t, []).append((v, c, wt))
        r = (by_term, final, reach, final_w)
        self._comb[u] = r
        return r

    # -- incremental update ---------------------------------------------------
    def truncate(self, new_pattern: Pattern, x: int):
        """The pattern changed at pattern states >= x (states < x are unchanged).

        Drops nodes at positions >= x and returns the ids of the remaining nodes whose
        (ε-free) edges had to be recomputed (their walks reached position >= x)."""
        self.pat = new_pattern
        drop = [i for i, (p, _) in self.nodes.items() if p >= x]
        for i in drop:
            key = self.nodes.pop(i)
            del self.node_of[key]
            self._raw.pop(i, None)
            self._comb.pop(i, None)
        for i in [i for i, (e, reach) in self._raw.items() if reach >= x]:
            del self._raw[i]
        changed = [i for i, r in self._comb.items() if r[2] >= x]
        for i in changed:
            del self._comb[i]
        return changed


class ConfigTables:
    """Per-grammar lexer-configuration automaton as arrays (for the numba NFA builder).

    Configurations ``(q, S)`` (canonical S) are numbered; ``trans[c, k]`` is the configuration
    after a byte of class ``k`` (-1: dies); ``end[c]`` the boundary configuration after ending
    the lexeme in ``c`` (-1: ``q`` not accepting); ``lab[c]`` the accepting union state whose label
    set is emitted (-2: ignored lexeme, an ε-edge); ``lab_off``/``lab_terms``: label sets (CSR)."""

    def __init__(self, hg: HoleGraph):
        Tk, acc, el, pool, off, htab, rep = hg._nb
        trans, q, sid, end, lab, pool, off = _explore_canon(Tk, acc, el, np.asarray(hg.ignored, np.bool_), hg.start,
                                                            hg.FRESH, pool.copy(), off.copy(), htab.copy(), rep)
        self.trans, self.end, self.lab, self.q = trans, end, lab, q
        self._sets = (sid, pool, off)
        self._ids = None
        self.byte_class = np.asarray(hg.lexer.byte_class, np.int64)
        # class ids of byte_class must index class_reps
        for k, b in enumerate(hg.class_reps):
            assert self.byte_class[b] == k
        off = [0]
        terms = []
        for lab in hg.labels:
            terms.extend(lab)
            off.append(len(terms))
        self.lab_off = np.array(off, np.int64)
        self.lab_terms = np.array(terms, np.int64)
        self.n_configs = len(self.q)

    @property
    def ids(self) -> dict:
        """``(q, S)`` -> configuration id (built on first use)."""
        if self._ids is None:
            sid, pool, off = self._sets
            members, bounds = pool.tolist(), off.tolist()
            self._ids = {(q, tuple(members[bounds[j]:bounds[j + 1]])): i
                         for i, (q, j) in enumerate(zip(self.q.tolist(), sid.tolist()))}
        return self._ids


def _config_tables_py(hg: HoleGraph):
    """Plain-Python :class:`ConfigTables` numbering (the reference in the tests): (trans, end, lab, ids)."""
    FRESH = hg.FRESH
    ids = {(FRESH, ()): 0}
    order = [(FRESH, ())]
    i = 0
    ncls = len(hg.class_reps)
    rows, ends, labs = [], [], []
    while i < len(order):
        q, S = order[i]
        i += 1
        row = [-1] * ncls
        for k, b in enumerate(hg.class_reps):
            nx = hg.step(q, S, b)
            if nx is None:
                continue
            if nx not in ids:
                ids[nx] = len(order)
                order.append(nx)
            row[k] = ids[nx]
        rows.append(row)
        if q != FRESH and hg._acc[q]:
            e = (FRESH, hg.end_lexeme(q, S))
            if e not in ids:
                ids[e] = len(order)
                order.append(e)
            ends.append(ids[e])
            labs.append(-2 if hg.ignored[q] else q)
        else:
            ends.append(-1)
            labs.append(-1)
    return (np.array(rows, np.int64).reshape(len(order), ncls), np.array(ends, np.int64), np.array(labs, np.int64),
            ids)


@nb.njit(cache=True, nogil=True)
def _intern(buf, n, pool, off, htab, M):
    """The id of the sorted set ``buf[:n]`` among the M sets of ``pool``/``off`` (added if new; arrays grown):
    (id, pool, off, htab, M)."""
    if 2 * (M + 1) > htab.shape[0]:
        htab = rehash(pool, off, M, 2 * htab.shape[0])
    slot, found = _lookup(buf, n, pool, off, htab)
    if found >= 0:
        return found, pool, off, htab, M
    if M + 2 > off.shape[0]:
        o2 = np.zeros(2 * off.shape[0], np.int64)
        o2[:M + 1] = off[:M + 1]
        off = o2
    pool = _append(buf, n, pool, off, M)
    htab[slot] = M
    return M, pool, off, htab, M + 1


@nb.njit(cache=True, nogil=True)
def _config_id(ids, q, s, nq, cq, cs):
    """The number of configuration (q, set s), appended to ``cq``/``cs`` if new."""
    key = q + (nq + 1) * s
    if key in ids:
        return ids[key]
    j = len(cq)
    ids[key] = j
    cq.append(q)
    cs.append(s)
    return j


@nb.njit(cache=True, nogil=True)
def _step_set(Tk, acc, el, pool, off, sid, k, buf):
    """The lookahead set after one byte of class k from set ``sid``, sorted into ``buf``: its size, or -1 when a
    member reaches acceptance (the configuration dies)."""
    n = 0
    for a in range(off[sid], off[sid + 1]):
        t = Tk[pool[a], k]
        if t < 0:
            continue
        if acc[t]:
            return -1
        if el[t]:
            n = insert_sorted(buf, n, t)
    return n


@nb.njit(cache=True, nogil=True)
def _with(pool, off, sid, q, buf):
    """Set ``sid`` with q added, sorted into ``buf``; its size."""
    n = 0
    done = False
    for a in range(off[sid], off[sid + 1]):
        s = pool[a]
        if not done and q < s:
            buf[n] = q
            n += 1
            done = True
        buf[n] = s
        n += 1
    if not done:
        buf[n] = q
        n += 1
    return n


@nb.njit(cache=True, nogil=True)
def _has(pool, off, sid, q):
    for a in range(off[sid], off[sid + 1]):
        if pool[a] == q:
            return True
    return False


@nb.njit(cache=True, nogil=True)
def _explore_raw(Tk, acc, el, start, FRESH):
    """Phase one of :meth:`HoleGraph._build_canon`: the configurations (q, S) reachable from (FRESH, ()) without
    canonical sets, and the S-automaton over every S met and its successors. Returns (configurations seen,
    S table [nS, k] with -1 = dies, pool, off, htab) where set i is ``pool[off[i]:off[i+1]]``."""
    k = Tk.shape[1]
    nq = Tk.shape[0]
    buf = np.empty(nq + 2, np.int32)
    pool = np.empty(1024, np.int32)
    off = np.zeros(1025, np.int64)
    htab = np.full(1024, -1, np.int64)
    e0, pool, off, htab, M = _intern(buf, 0, pool, off, htab, 0)
    seen = {np.int64(0): np.int64(0)}
    seen.clear()
    cq = [np.int64(FRESH)]
    cs = [np.int64(e0)]
    seen[np.int64(FRESH) + (nq + 1) * np.int64(e0)] = 0
    i = 0
    while i < len(cq):
        q, sid = cq[i], cs[i]
        i += 1
        q0 = start if q == FRESH else q
        for c in range(k):
            n = _step_set(Tk, acc, el, pool, off, sid, c, buf)
            if n < 0:
                continue
            q2 = Tk[q0, c]
            if q2 < 0:
                continue
            s2, pool, off, htab, M = _intern(buf, n, pool, off, htab, M)
            _config_id(seen, q2, s2, nq, cq, cs)
        if q != FRESH and acc[q]:
            if el[q] and not _has(pool, off, sid, q):
                n = _with(pool, off, sid, q, buf)
                s2, pool, off, htab, M = _intern(buf, n, pool, off, htab, M)
            else:
                s2 = sid
            _config_id(seen, np.int64(FRESH), s2, nq, cq, cs)
    # the S-automaton over every set met, closed under steps
    St = np.full((max(M, 1) * 2, k), -1, np.int64)
    j = 0
    while j < M:
        if M > St.shape[0]:
            S2 = np.full((2 * M, k), -1, np.int64)
            S2[:j] = St[:j]
            St = S2
        for c in range(k):
            n = _step_set(Tk, acc, el, pool, off, j, c, buf)
            if n < 0:
                St[j, c] = -1
                continue
            s2, pool, off, htab, M = _intern(buf, n, pool, off, htab, M)
            St[j, c] = s2
        j += 1
    return len(cq), St[:M], pool, off, htab


@nb.njit(cache=True, nogil=True)
def _explore_canon(Tk, acc, el, ignored, start, FRESH, pool, off, htab, rep):
    """:class:`ConfigTables` in numba: configurations (q, canonical S) numbered breadth first from (FRESH, ()),
    class by class, the end configuration after each row, as the Python construction did. Sets not met in phase
    one are their own representatives. Returns (trans, q, set id, end, lab, pool, off)."""
    k = Tk.shape[1]
    nq = Tk.shape[0]
    buf = np.empty(nq + 2, np.int32)
    M = rep.shape[0]
    e0, pool, off, htab, M = _intern(buf, 0, pool, off, htab, M)
    ids = {np.int64(0): np.int64(0)}
    ids.clear()
    cq = [np.int64(FRESH)]
    cs = [np.int64(e0)]
    ids[np.int64(FRESH) + (nq + 1) * np.int64(e0)] = 0
    rows = []
    ends = []
    labs = []
    i = 0
    while i < len(cq):
        q, sid = cq[i], cs[i]
        i += 1
        row = np.full(k, -1, np.int64)
        q0 = start if q == FRESH else q
        for c in range(k):
            n = _step_set(Tk, acc, el, pool, off, sid, c, buf)
            if n < 0:
                continue
            q2 = Tk[q0, c]
            if q2 < 0:
                continue
            s2, pool, off, htab, M = _intern(buf, n, pool, off, htab, M)
            if s2 < rep.shape[0]:
                s2 = rep[s2]
            row[c] = _config_id(ids, q2, s2, nq, cq, cs)
        rows.append(row)
        if q != FRESH and acc[q]:
            s2 = sid
            if el[q] and not _has(pool, off, sid, q):
                n = _with(pool, off, sid, q, buf)
                s2, pool, off, htab, M = _intern(buf, n, pool, off, htab, M)
                if s2 < rep.shape[0]:
                    s2 = rep[s2]
            ends.append(_config_id(ids, np.int64(FRESH), s2, nq, cq, cs))
            labs.append(-2 if ignored[q] else q)
        else:
            ends.append(-1)
            labs.append(-1)
    n = len(cq)
    trans = np.empty((n, k), np.int64)
    for a in range(n):
        trans[a] = rows[a]
    qa = np.empty(n, np.int64)
    sa = np.empty(n, np.int64)
    for a in range(n):
        qa[a] = cq[a]
        sa[a] = cs[a]
    return (trans, qa, sa, np.array(ends, np.int64), np.array(labs, np.int64), pool[:off[M]].copy(),
            off[:M + 1].copy())

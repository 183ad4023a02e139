"""Per-grammar hole automaton (pattern independent), for the fast NFA builder.

Inside an *uncosted* hole (unbounded, or bounded but not the hole whose bytes are counted) the
boundary nodes ``(p, b)`` of :class:`.completion.LexNFA` behave identically at every hole
position: from boundary ``b`` any configuration ``c`` of the reach set ``R(b)`` (configurations
reachable reading any bytes within one lexeme) can end its lexeme in the hole (edge labelled by
the label set of ``c`` to boundary ``end[c]``) or leave the hole (continue reading the text after
it). So instead of one node per boundary, the builder uses one node per *hole state*: a set ``X``
of boundaries, closed under ignored lexemes (an ignored lexeme ending in the hole is an ε-move).
The hole states form a deterministic automaton over terminals, computed once per grammar:

* ``delta[X, t]`` = close({end[c] : c ∈ R(X), t ∈ labels(c)}), ``R(X) = ∪_{b∈X} R(b)``;
* entries: a lexeme started before the hole and still in progress at its first byte in
  configuration ``c`` ends in the hole on terminal ``t`` in ``entry[c, t]`` (ignored: ``eps[c]``);
  a lexeme that ends exactly where the hole starts lands in ``single[b]`` = close({b});
* exits: the lexeme in progress may leave the hole in any configuration of ``R(X)``
  (``rx_off``/``rx_conf``), including the fresh boundaries of ``X`` themselves.

The language of the node ``(p, X)`` is the union of the languages of ``(p, b)``, b ∈ X, so the
NFA built this way accepts exactly the same terminal sequences; it is just (much) smaller.
Tested against the reference engine (tests/grammar/test_completable.py, test_builtin_infill.py).
"""
from __future__ import annotations

import heapq

import numpy as np
from numba import njit, types
from numba.typed import Dict

from .earley_nb import terminal_edges


@njit(cache=True)
def _reach_all(trans):
    """R(c) for every configuration c (any bytes, within one lexeme), CSR."""
    NC = trans.shape[0]
    ncls = trans.shape[1]
    off = np.zeros(NC + 1, np.int64)
    out = [np.int64(0)]
    out.pop()
    seen = np.full(NC, -1, np.int64)
    q = np.empty(NC, np.int64)
    for c0 in range(NC):
        q[0] = c0
        seen[c0] = c0
        n = 1
        h = 0
        while h < n:
            c = q[h]
            h += 1
            out.append(c)
            for k in range(ncls):
                c2 = trans[c, k]
                if c2 >= 0 and seen[c2] != c0:
                    seen[c2] = c0
                    q[n] = c2
                    n += 1
        off[c0 + 1] = len(out)
    return off, np.array(out, np.int64)


@njit(cache=True)
def _hash(a):
    h = np.int64(1469598103934665603)
    for x in a:
        h = (h ^ x) * np.int64(1099511628211)
    return h


@njit(cache=True)
def _build_tables(trans, end, lab, lab_off, lab_terms, T, r_off, r_conf, bidx, bconf):
    """Hole states reachable from every entry; see the module docstring."""
    NC = trans.shape[0]
    NB = bconf.shape[0]
    # ignored-lexeme ends from each boundary (closure step)
    ig_off = np.zeros(NB + 1, np.int64)
    ig = [np.int64(0)]
    ig.pop()
    mark = np.full(NB, -1, np.int64)
    for bi in range(NB):
        b = bconf[bi]
        for x in range(r_off[b], r_off[b + 1]):
            c = r_conf[x]
            if end[c] >= 0 and lab[c] == -2:
                e = bidx[end[c]]
                if mark[e] != bi:
                    mark[e] = bi
                    ig.append(e)
        ig_off[bi + 1] = len(ig)
    # hole-state store
    s_off = [np.int64(0)]
    s_mem = [np.int64(0)]
    s_mem.pop()
    table = Dict.empty(types.int64, types.int64)
    chain = [np.int64(0)]
    chain.pop()
    inset = np.zeros(NB, np.bool_)
    stack = np.empty(NB, np.int64)

    # per-(source, terminal) scratch: touched boundary indices
    tmask = np.zeros((T, NB), np.bool_)
    tlist_n = np.zeros(T, np.int64)
    tlist = np.empty((T, NB), np.int64)
    touched_t = np.empty(T, np.int64)
    emask = np.zeros(NB, np.bool_)
    elist = np.empty(NB, np.int64)

    entry = np.full((NC, T), -1, np.int64)
    eps = np.full(NC, -1, np.int64)
    single = np.full(NB, -1, np.int64)
    delta_rows = [np.full(T, -1, np.int64)]
    delta_rows.pop()
    cmark = np.full(NC, -1, np.int64)
    rx_off = [np.int64(0)]
    rx_conf = [np.int64(0)]
    rx_conf.pop()

    n_src = NC + NB   # sources: configurations (entries), boundaries (singles), then hole states
    src = 0
    while True:
        # ---- collect the seed set(s) of this source
        if src >= n_src + len(s_off) - 1:
            break
        nt = 0
        ne = 0
        if src < NC:
            c0 = src
            for x in range(r_off[c0], r_off[c0 + 1]):
                c = r_conf[x]
                if end[c] < 0:
                    continue
                e = bidx[end[c]]
                if lab[c] == -2:
                    if not emask[e]:
                        emask[e] = True
                        elist[ne] = e
                        ne += 1
                    continue
                for li in range(lab_off[lab[c]], lab_off[lab[c] + 1]):
                    t = lab_terms[li]
                    if not tmask[t, e]:
                        if tlist_n[t] == 0:
                            touched_t[nt] = t
                            nt += 1
                        tmask[t, e] = True
                        tlist[t, tlist_n[t]] = e
                        tlist_n[t] += 1
        elif src < n_src:
            elist[0] = src - NC
            emask[src - NC] = True
            ne = 1
        else:
            X = src - n_src
            lo, hi = s_off[X], s_off[X + 1]
            rx = 0
            for k in range(lo, hi):
                b = bconf[s_mem[k]]
                for x in range(r_off[b], r_off[b + 1]):
                    c = r_conf[x]
                    if cmark[c] != X:
                        cmark[c] = X
                        rx_conf.append(c)
                        rx += 1
                        if end[c] < 0 or lab[c] < 0:
                            continue
                        e = bidx[end[c]]
                        for li in range(lab_off[lab[c]], lab_off[lab[c] + 1]):
                            t = lab_terms[li]
                            if not tmask[t, e]:
                                if tlist_n[t] == 0:
                                    touched_t[nt] = t
                                    nt += 1
                                tmask[t, e] = True
                                tlist[t, tlist_n[t]] = e
                                tlist_n[t] += 1
            rx_off.append(np.int64(len(rx_conf)))
            delta_rows.append(np.full(T, -1, np.int64))
        # ---- close + canonicalise each seed set: index -1 = the eps set, else terminal
        for w in range(-1, nt):
            if w == -1:
                if ne == 0:
                    continue
                m = ne
                for i in range(ne):
                    stack[i] = elist[i]
                    emask[elist[i]] = False
            else:
                t = touched_t[w]
                m = tlist_n[t]
                for i in range(m):
                    stack[i] = tlist[t, i]
                    tmask[t, tlist[t, i]] = False
                tlist_n[t] = 0
            for i in range(m):
                inset[stack[i]] = True
            h = 0
            while h < m:
                bi = stack[h]
                h += 1
                for x in range(ig_off[bi], ig_off[bi + 1]):
                    e = ig[x]
                    if not inset[e]:
                        inset[e] = True
                        stack[m] = e
                        m += 1
            mem = np.sort(stack[:m].copy())
            for i in range(m):
                inset[mem[i]] = False
            hh = _hash(mem)
            found = -1
            if hh in table:
                j = table[hh]
                while j >= 0:
                    jl, jh = s_off[j], s_off[j + 1]
                    if jh - jl == m:
                        same = True
                        for x in range(m):
                            if s_mem[jl + x] != mem[x]:
                                same = False
                                break
                        if same:
                            found = j
                            break
                    j = chain[j]
            if found < 0:
                found = len(s_off) - 1
                chain.append(table[hh] if hh in table else np.int64(-1))
                table[hh] = found
                for x in range(m):
                    s_mem.append(mem[x])
                s_off.append(np.int64(len(s_mem)))
            if src < NC:
                if w == -1:
                    eps[src] = found
                else:
                    entry[src, touched_t[w]] = found
            elif src < n_src:
                single[src - NC] = found
            else:
                delta_rows[src - n_src][touched_t[w]] = found
        src += 1
    NH = len(s_off) - 1
    delta = np.full((NH, T), -1, np.int64)
    for i in range(NH):
        delta[i] = delta_rows[i]
    return (entry, eps, single, delta, np.array(rx_off, np.int64), np.array(rx_conf, np.int64),
            np.array(s_off, np.int64), np.array(s_mem, np.int64))


class HoleTables:
    """The per-grammar hole automaton as arrays (see the module docstring); built once."""

    def __init__(self, ct, T):
        NC = ct.trans.shape[0]
        self.r_off, self.r_conf = _reach_all(ct.trans)
        bconf = np.unique(np.concatenate([[0], ct.end[ct.end >= 0]])).astype(np.int64)
        bidx = np.full(NC, -1, np.int64)
        bidx[bconf] = np.arange(len(bconf))
        (self.entry, self.eps, single_b, self.delta, self.rx_off, self.rx_conf,
         self.s_off, self.s_mem) = _build_tables(ct.trans, ct.end, ct.lab, ct.lab_off, ct.lab_terms,
                                                 int(T), self.r_off, self.r_conf, bidx, bconf)
        self.single = np.full(NC, -1, np.int64)      # indexed by boundary configuration
        self.single[bconf] = single_b
        self.n_states = int(self.delta.shape[0])
        self.bconf = bconf
        _quotient(self, ct)
        self.xb_off, self.xb_conf, self.xz_off, self.xz_key = _exit_tables(
            ct.trans, ct.end, ct.lab, self.rx_off, self.rx_conf)
        self.canon_text, self.canon_end, self.canon_hole = _canon_tables(self, ct)


@njit(cache=True, inline="always")
def _canon_node(p, c, kind, byte_class, M, canon_text, canon_end):
    """The representative configuration of token-boundary node (p, c), -1 if the node is dead (see
    :func:`_canon_tables`)."""
    if p >= M:
        return canon_end[c]
    if kind[p] >= 0:
        return canon_text[byte_class[kind[p]], c]
    return c


@njit(cache=True)
def _rec(best, key, d):
    if key not in best or best[key] > d:
        best[key] = d


@njit(cache=True)
def _walk_h(p0, c0, kind, costed, trans, end, lab, byte_class, M, NCX, NC, LQ, isb,
            entry, eps, r_off, r_conf, canon_text, canon_end, canon_hole, best):
    """One-lexeme walks from byte-level state (p0, c0) (c0 a configuration). Uncosted holes are
    crossed through the reach table: a lexeme in progress at an uncosted hole either ends inside
    it (edge to a hole state, labelled by a terminal) or leaves it in any reachable configuration.
    Records into ``best``: key L * ((M+1)*NCX) + target node key -> min cost (L: 0 = ε,
    2 + q = label set of union state q, LQ + t = terminal t)."""
    ncls = trans.shape[1]
    T = entry.shape[1]
    span = (M + 1) * NCX
    dist = Dict.empty(types.int64, types.int64)
    heap = [(np.int64(0), p0, c0)]
    dist[p0 * NC + c0] = 0
    while len(heap) > 0:
        d, p, c = heapq.heappop(heap)
        if dist[p * NC + c] != d:
            continue
        hole_free = p < M and kind[p] == -1 and not costed[p]
        if end[c] >= 0 and not hole_free:
            e2 = _canon_node(p, end[c], kind, byte_class, M, canon_text, canon_end)
            if e2 >= 0:
                _rec(best, (lab[c] + 2) * span + p * NCX + e2, d)
        if p >= M:
            if isb[c]:
                _rec(best, p * NCX, d)          # ε: left a hole without starting a lexeme
            continue
        if hole_free:
            kk = ncls if p + 1 >= M else byte_class[kind[p + 1]]      # the byte after the hole (holes merge)
            for t in range(T):
                x = entry[c, t]
                if x >= 0:
                    _rec(best, (LQ + t) * span + p * NCX + NC + canon_hole[kk, x], d)
            if eps[c] >= 0:
                _rec(best, p * NCX + NC + canon_hole[kk, eps[c]], d)
            if kk == ncls:
                for i in range(r_off[c], r_off[c + 1]):
                    c2 = r_conf[i]
                    key = (p + 1) * NC + c2
                    if key not in dist or dist[key] > d:
                        dist[key] = d
                        heapq.heappush(heap, (d, p + 1, c2))
            else:
                # the lexeme leaves the hole in any reachable configuration c2 and reads the byte after it (holes
                # merge): what state (p + 1, c2) would do, without queueing the ~500 states one by one
                for i in range(r_off[c], r_off[c + 1]):
                    c2 = r_conf[i]
                    if end[c2] >= 0:
                        e2 = _canon_node(p + 1, end[c2], kind, byte_class, M, canon_text, canon_end)
                        if e2 >= 0:
                            _rec(best, (lab[c2] + 2) * span + (p + 1) * NCX + e2, d)
                    c3 = trans[c2, kk]
                    if c3 >= 0:
                        key = (p + 2) * NC + c3
                        if key not in dist or dist[key] > d:
                            dist[key] = d
                            heapq.heappush(heap, (d, p + 2, c3))
        elif kind[p] == -1:
            for k in range(ncls):
                c2 = trans[c, k]
                if c2 >= 0:
                    key = p * NC + c2
                    if key not in dist or dist[key] > d + 1:
                        dist[key] = d + 1
                        heapq.heappush(heap, (d + 1, p, c2))
            key = (p + 1) * NC + c
            if key not in dist or dist[key] > d:
                dist[key] = d
                heapq.heappush(heap, (d, p + 1, c))
        else:
            c2 = trans[c, byte_class[kind[p]]]
            if c2 >= 0:
                key = (p + 1) * NC + c2
                if key not in dist or dist[key] > d:
                    dist[key] = d
                    heapq.heappush(heap, (d, p + 1, c2))


@njit(cache=True)
def _memo_walk(mk, p, c, kind, costed, trans, end, lab, byte_class, M, NCX, NC, LQ, isb,
               entry, eps, r_off, r_conf, canon_text, canon_end, canon_hole, memo, memo_start, memo_key, memo_cost):
    if mk not in memo:
        tmp = Dict.empty(types.int64, types.int64)
        _walk_h(p, c, kind, costed, trans, end, lab, byte_class, M, NCX, NC, LQ, isb,
                entry, eps, r_off, r_conf, canon_text, canon_end, canon_hole, tmp)
        for k2, d2 in tmp.items():
            memo_key.append(k2)
            memo_cost.append(d2)
        memo[mk] = len(memo_start) - 1
        memo_start.append(np.int64(len(memo_key)))
    return memo[mk]


@njit(cache=True)
def build_nfa_holes(kind, costed, trans, end, lab, lab_off, lab_terms, byte_class, isb,
                    bidx, rc_off, rc_conf, rc_dist, entry, eps, delta, xb_off, xb_conf, xz_off, xz_key, r_off, r_conf,
                    canon_text, canon_end, canon_hole):
    """Token-boundary NFA with uncosted holes as hole-state nodes (see the module docstring).

    Same output as :func:`.earley_nb.build_nfa_kernel`: (pos, final, e_off, e_term, e_dst,
    e_cost), node 0 = start, edges ε-free and sorted by (node, terminal)."""
    M = kind.shape[0]
    NC = trans.shape[0]
    NH = delta.shape[0]
    T = delta.shape[1]
    NCX = NC + NH
    ncls = trans.shape[1]
    LQ = lab_off.shape[0] - 1 + 2
    span = (M + 1) * NCX
    node_of = Dict.empty(types.int64, types.int64)
    node_p = [np.int64(0)]
    node_c = [np.int64(0)]
    node_of[0] = 0
    r2_off = [np.int64(0)]
    r2_lab = [np.int64(0)]; r2_lab.pop()
    r2_dst = [np.int64(0)]; r2_dst.pop()
    r2_cost = [np.int64(0)]; r2_cost.pop()
    memo = Dict.empty(types.int64, types.int64)
    memo_start = [np.int64(0)]
    memo_key = [np.int64(0)]; memo_key.pop()
    memo_cost = [np.int64(0)]; memo_cost.pop()
    seen = np.full(NC, -1, np.int64)       # configuration sets of the hole exits (see below)
    stamp = 0
    cur = np.empty(NC, np.int64)
    nxt = np.empty(NC, np.int64)
    u = 0
    while u < len(node_p):
        p0 = node_p[u]
        c0 = node_c[u]
        best = Dict.empty(types.int64, types.int64)
        if c0 >= NC:
            X = c0 - NC
            p1 = p0 + 1
            kk = ncls if p1 >= M else byte_class[kind[p1]]
            for t in range(T):
                y = delta[X, t]
                if y >= 0:
                    best[(LQ + t) * span + p0 * NCX + NC + canon_hole[kk, y]] = 0
            for i in range(xz_off[X], xz_off[X + 1]):      # lexemes ending where the hole ends
                zk = xz_key[i]
                e2 = _canon_node(p1, zk % NC, kind, byte_class, M, canon_text, canon_end)
                if e2 >= 0:
                    _rec(best, (zk // NC) * span + p1 * NCX + e2, 0)
            if p1 >= M:
                _rec(best, p1 * NCX, 0)                     # ε: the hole ends the pattern
            else:                                           # kind[p1] is a byte (holes merge)
                # the lexemes that leave the hole in a configuration of xb(X, byte) read the text after it: all of
                # them at once, as a set of configurations per position (they merge fast), up to the next hole,
                # whose walks are memoised per (position, configuration)
                tag = X * ncls + byte_class[kind[p1]]
                n_s = 0
                stamp += 1
                for i in range(xb_off[tag], xb_off[tag + 1]):
                    c = xb_conf[i]
                    if seen[c] != stamp:
                        seen[c] = stamp
                        cur[n_s] = c
                        n_s += 1
                p = p1 + 1
                while n_s > 0:
                    if p < M and kind[p] == -1:
                        for i in range(n_s):
                            c = cur[i]
                            mi = _memo_walk((p - 1) * NCX + c, p, c, kind, costed, trans, end, lab, byte_class, M,
                                            NCX, NC, LQ, isb, entry, eps, r_off, r_conf, canon_text, canon_end,
                                            canon_hole, memo, memo_start, memo_key, memo_cost)
                            for x in range(memo_start[mi], memo_start[mi + 1]):
                                _rec(best, memo_key[x], memo_cost[x])
                        break
                    for i in range(n_s):
                        c = cur[i]
                        if end[c] >= 0:
                            e2 = _canon_node(p, end[c], kind, byte_class, M, canon_text, canon_end)
                            if e2 >= 0:
                                _rec(best, (lab[c] + 2) * span + p * NCX + e2, 0)
                    if p >= M:
                        for i in range(n_s):
                            if isb[cur[i]]:
                                _rec(best, p * NCX, 0)
                        break
                    k = byte_class[kind[p]]
                    stamp += 1
                    n2 = 0
                    for i in range(n_s):
                        c2 = trans[cur[i], k]
                        if c2 >= 0 and seen[c2] != stamp:
                            seen[c2] = stamp
                            nxt[n2] = c2
                            n2 += 1
                    cur, nxt = nxt, cur
                    n_s = n2
                    p += 1
        elif p0 < M and kind[p0] == -1 and costed[p0] and bidx[c0] >= 0:
            bi = bidx[c0]
            for ri in range(rc_off[bi], rc_off[bi + 1]):
                c = rc_conf[ri]
                d = rc_dist[ri]
                if end[c] >= 0:
                    _rec(best, (lab[c] + 2) * span + p0 * NCX + end[c], d)
                if c == c0:
                    continue
                mi = _memo_walk(p0 * NCX + c, p0 + 1, c, kind, costed, trans, end, lab, byte_class, M, NCX, NC,
                                LQ, isb, entry, eps, r_off, r_conf, canon_text, canon_end, canon_hole, memo,
                                memo_start, memo_key, memo_cost)
                for x in range(memo_start[mi], memo_start[mi + 1]):
                    _rec(best, memo_key[x], d + memo_cost[x])
            best[(p0 + 1) * NCX + c0] = 0      # ε: leave the hole
        else:
            _walk_h(p0, c0, kind, costed, trans, end, lab, byte_class, M, NCX, NC, LQ, isb,
                    entry, eps, r_off, r_conf, canon_text, canon_end, canon_hole, best)
            if p0 < M and kind[p0] == -1 and costed[p0]:
                best[(p0 + 1) * NCX + c0] = 0
        for bk, d in best.items():
            tk = bk % span
            if tk not in node_of:
                node_of[tk] = len(node_p)
                node_p.append(tk // NCX)
                node_c.append(tk % NCX)
            r2_lab.append(bk // span)
            r2_dst.append(node_of[tk])
            r2_cost.append(d)
        r2_off.append(np.int64(len(r2_lab)))
        u += 1
    n = len(node_p)
    pos = np.empty(n, np.int64)
    for i in range(n):
        pos[i] = node_p[i]
    final, e_off, e_term, e_dst, e_cost = terminal_edges(pos, M, r2_off, r2_lab, r2_dst, r2_cost, 0, 2, LQ,
                                                         lab_off, lab_terms)
    return pos, final, e_off, e_term, e_dst, e_cost


def hole_tables(g):
    """The grammar's :class:`HoleTables` (built lazily, cached on the Grammar)."""
    ht = getattr(g, "_hole_tables", None)
    if ht is None:
        ht = HoleTables(g.config_tables, g.arrays.T)
        g._hole_tables = ht
    return ht


def nfa_arrays_holes(g, pattern, costed=frozenset()):
    """Like :func:`.earley_nb.nfa_arrays_fast`, with uncosted holes as hole-state nodes."""
    from .earley_nb import nfa_arrays_fast  # noqa: F401  (ensures ct.reach exists)

    ct = g.config_tables
    ht = hole_tables(g)
    if getattr(ct, "reach", None) is None:
        from .earley_nb import hole_reach_kernel

        boundary = np.unique(np.concatenate([[0], ct.end[ct.end >= 0]])).astype(np.int64)
        bidx = np.full(ct.trans.shape[0], -1, np.int64)
        bidx[boundary] = np.arange(len(boundary))
        ct.reach = (bidx,) + tuple(hole_reach_kernel(ct.trans, boundary))
    bidx, rc_off, rc_conf, rc_dist = ct.reach
    if getattr(ht, "isb", None) is None:
        ht.isb = bidx >= 0
    kind = np.array(pattern.kind, np.int64)
    cst = np.zeros(pattern.M, np.bool_)
    for p in pattern.hole_pos:
        if pattern.hole_of[p] in costed:
            cst[p] = True
    return build_nfa_holes(kind, cst, ct.trans, ct.end, ct.lab, ct.lab_off, ct.lab_terms, ct.byte_class, ht.isb,
                           bidx, rc_off, rc_conf, rc_dist, ht.entry, ht.eps, ht.delta, ht.xb_off, ht.xb_conf,
                           ht.xz_off, ht.xz_key, ht.r_off, ht.r_conf, ht.canon_text, ht.canon_end, ht.canon_hole)


def _moore(keys, delta):
    """Coarsest partition of the hole states (rows of ``delta``, -1 = no successor) that separates different
    ``keys`` and is closed under the successors: block id per state."""
    ids = {}
    block = np.array([ids.setdefault(k, len(ids)) for k in keys], np.int64)
    nb = len(ids)
    valid = delta >= 0
    safe = np.maximum(delta, 0)
    while nb < len(block):
        sig = np.concatenate([block[:, None], np.where(valid, block[safe], -1)], 1)
        _, new = np.unique(sig, axis=0, return_inverse=True)
        block = np.asarray(new, np.int64).reshape(-1)
        nn = int(block.max()) + 1
        if nn == nb:
            break
        nb = nn
    return block


@njit(cache=True)
def _first_codes(rx_off, rx_conf, trans):
    """Per hole state X (CSR): the distinct codes ``k * (NC + 1) + trans[c, k]`` over its exits c, sorted."""
    NC, ncls = trans.shape
    NH = rx_off.shape[0] - 1
    mark = np.full(NC, -1, np.int64)
    off = np.zeros(NH + 1, np.int64)
    out = [np.int64(0)]
    out.pop()
    buf = np.empty(NC, np.int64)
    stamp = 0
    for X in range(NH):
        for k in range(ncls):
            stamp += 1
            n = 0
            for a in range(rx_off[X], rx_off[X + 1]):
                t = trans[rx_conf[a], k]
                if t >= 0 and mark[t] != stamp:
                    mark[t] = stamp
                    buf[n] = t
                    n += 1
            b = np.sort(buf[:n])
            for j in range(n):
                out.append(k * (NC + 1) + b[j])
        off[X + 1] = len(out)
    return off, np.array(out, np.int64)


def _per_state(owner, code, width, n):
    """For each of n owners, its distinct codes (each < width) sorted, as bytes (a hashable, comparable key)."""
    u = np.sort(owner * width + code)
    if len(u):
        u = u[np.concatenate(([True], u[1:] != u[:-1]))]
    cut = np.searchsorted(u // width, np.arange(n + 1))
    return [(u[cut[X]:cut[X + 1]] % width).tobytes() for X in range(n)]


def _quotient(ht, ct):
    """Merge hole states with the same behaviour for every pattern (Moore refinement).

    Initial blocks: the exits, summarised exactly by the configurations after the first text
    byte of each byte class and the lexemes ending exactly where the hole ends ((label, end)
    pairs of accepting reachable configurations); refinement: terminal successors."""
    NH = ht.n_states
    NC, ncls = ct.trans.shape
    # per state, as sorted code arrays: (class, configuration after it) of its exits, (label, end) of the lexemes
    # ending where the hole ends (equal keys <=> equal sets)
    owner = np.repeat(np.arange(NH, dtype=np.int64), np.diff(ht.rx_off))
    cs = ht.rx_conf
    f_off, f_code = _first_codes(ht.rx_off, cs, np.ascontiguousarray(ct.trans, np.int64))
    first = [f_code[f_off[X]:f_off[X + 1]].tobytes() for X in range(NH)]
    acc = ct.end[cs] >= 0
    zero = _per_state(owner[acc], (ct.lab[cs][acc] + 2) * (NC + 1) + ct.end[cs][acc],
                      np.int64(int(ct.lab.max(initial=0)) + 3) * (NC + 1), NH)
    block = _moore(list(zip(first, zero)), ht.delta)
    _, rep = np.unique(block, return_index=True)      # representative state of each class
    ht.entry = np.where(ht.entry >= 0, block[np.maximum(ht.entry, 0)], -1)
    ht.eps = np.where(ht.eps >= 0, block[np.maximum(ht.eps, 0)], -1)
    ht.single = np.where(ht.single >= 0, block[np.maximum(ht.single, 0)], -1)
    d = ht.delta[rep]
    ht.delta = np.where(d >= 0, block[np.maximum(d, 0)], -1)
    offs = [0]
    confs = []
    for X in rep:
        confs.append(ht.rx_conf[ht.rx_off[X]:ht.rx_off[X + 1]])
        offs.append(offs[-1] + len(confs[-1]))
    ht.rx_off = np.array(offs, np.int64)
    ht.rx_conf = np.concatenate(confs).astype(np.int64)
    ht.n_states_raw = NH
    ht.n_states = len(rep)


def _canon_tables(ht, ct):
    """Representatives that let the builder create one node per behaviour instead of one per configuration.

    * ``canon_text[k, c]``: token-boundary node (p, c) at a text byte of class k reads that byte first: its edges
      depend only on ``trans[c, k]`` (for a configuration that cannot end a lexeme), so nodes with the same
      successor are the same node (the smallest such configuration); -1 when the byte kills it (the node has no
      edges and is not final: edges to it are dropped). Boundaries differ in the maximal-munch lookahead they
      carry, and most of that is settled by the one byte that follows: after a hole, ~140 boundary nodes that the
      lexemes ending at the hole's end create become a few.
    * ``canon_end[c]``: at the end of the pattern every boundary node is the empty word (final): configuration 0.
    * ``canon_hole[k, X]``: hole states with the same behaviour at a hole whose next byte has class k (``k =
      ncls``: the hole ends the pattern): Moore refinement over the hole automaton from their exits for that byte
      (configurations after it; lexemes ending at the hole's end, targets through ``canon_text``).
    Replacing a node by one with the same edges (up to such replacements) keeps the automaton's language and
    costs; tested against the builder without them (tests/grammar/test_holes_nb.py)."""
    trans, end, NC, ncls = ct.trans, ct.end, ct.trans.shape[0], ct.trans.shape[1]
    plain = end < 0
    canon_text = np.empty((ncls, NC), np.int64)
    idx = np.arange(NC, dtype=np.int64)
    for k in range(ncls):
        col = trans[:, k]
        rep = np.full(NC + 1, -1, np.int64)       # successor (+1, 0 = dead) -> smallest plain configuration
        m = plain & (col >= 0)
        succ, first = np.unique(col[m], return_index=True)
        rep[succ + 1] = idx[m][first]
        canon_text[k] = np.where(plain, np.where(col >= 0, rep[np.maximum(col, 0) + 1], -1), idx)
    isb = np.zeros(NC, bool)
    isb[ht.bconf] = True
    canon_end = np.where(isb & plain, 0, idx)
    NH = ht.n_states
    canon_hole = np.empty((ncls + 1, NH), np.int64)
    # exits as sorted per-state key arrays (compared as bytes): lexemes ending at the hole's end as (label, target)
    # codes, configurations after the next byte
    z_of = np.repeat(np.arange(NH, dtype=np.int64), np.diff(ht.xz_off))
    z_lab, z_end = ht.xz_key // NC, ht.xz_key % NC
    W = np.int64(NC + 1) * (int(z_lab.max(initial=0)) + 1)
    b_tag = np.repeat(np.arange(NH * ncls, dtype=np.int64), np.diff(ht.xb_off))
    b_of, b_k = b_tag // ncls, b_tag % ncls

    for k in range(ncls + 1):
        tgt = canon_end[z_end] if k == ncls else canon_text[k, z_end]
        ok = tgt >= 0
        zero = _per_state(z_of[ok], z_lab[ok] * (NC + 1) + tgt[ok], W, NH)
        first = _per_state(b_of[b_k == k], ht.xb_conf[b_k == k], np.int64(NC), NH) if k < ncls else [b""] * NH
        block = _moore(list(zip(first, zero)), ht.delta)
        _, rep = np.unique(block, return_index=True)
        canon_hole[k] = rep[block]
    return canon_text, canon_end, canon_hole


@njit(cache=True)
def _exit_tables(trans, end, lab, rx_off, rx_conf):
    """Per hole state X: the configurations after the first text byte of class k that a lexeme
    leaving the hole can be in (CSR over X*ncls + k), and the (label, end) pairs of lexemes that
    end exactly at the hole's end (CSR over X; key (lab+2)*NC + end)."""
    NH = rx_off.shape[0] - 1
    NC = trans.shape[0]
    ncls = trans.shape[1]
    xb_off = np.zeros(NH * ncls + 1, np.int64)
    xb = [np.int64(0)]
    xb.pop()
    xz_off = np.zeros(NH + 1, np.int64)
    xz = [np.int64(0)]
    xz.pop()
    mark = np.full(NC, -1, np.int64)
    for X in range(NH):
        for k in range(ncls):
            tag = X * ncls + k
            for i in range(rx_off[X], rx_off[X + 1]):
                c2 = trans[rx_conf[i], k]
                if c2 >= 0 and mark[c2] != tag:
                    mark[c2] = tag
                    xb.append(c2)
            xb_off[tag + 1] = len(xb)
        seen = Dict.empty(types.int64, types.int64)
        for i in range(rx_off[X], rx_off[X + 1]):
            c = rx_conf[i]
            if end[c] >= 0:
                key = (lab[c] + 2) * NC + end[c]
                if key not in seen:
                    seen[key] = 1
                    xz.append(key)
        xz_off[X + 1] = len(xz)
    return xb_off, np.array(xb, np.int64), xz_off, np.array(xz, np.int64)

"""Numba fast path of the Earley/Knuth engine (same deduction rules as :mod:`.earley`).

The token-boundary NFA is first built in full (nodes reachable from the start through lexeme
edges; :func:`nfa_arrays`) and flattened into typed arrays; the kernel then runs the weighted
Earley fixpoint with a binary heap on ``(cost, position)``, typed dicts for the item index and the
waiting/completed tables, and early exit at the goal. Dotted rules are flattened: ``dr`` indexes
``rhs`` positions, ``dr_next[dr]`` is the symbol after the dot (-1 at the end of a rule).
Tested against the Python reference (tests/grammar/test_completable.py).
"""
from __future__ import annotations

import heapq

import numpy as np
from numba import njit, types
from numba.typed import Dict


class GrammarArrays:
    """CFG as flat arrays (built once per grammar)."""

    def __init__(self, cfg):
        T = cfg.n_terminals
        NS = T + len(cfg.nonterminals)
        dr_next, dr_rule, rule_first = [], [], []
        for r, (lhs, rhs) in enumerate(cfg.rules):
            rule_first.append(len(dr_next))
            for s in rhs:
                dr_next.append(s)
                dr_rule.append(r)
            dr_next.append(-1)
            dr_rule.append(r)
        self.T = T
        self.dr_next = np.array(dr_next, np.int64)
        self.dr_rule = np.array(dr_rule, np.int64)
        self.rule_first = np.array(rule_first, np.int64)
        self.rule_lhs = np.array([l for l, _ in cfg.rules], np.int64)
        nullable = np.zeros(NS, np.bool_)
        for s in cfg.nullable:
            nullable[s] = True
        self.nullable = nullable
        # predictions of each nonterminal: rules that start with a terminal are scanned at once (``predt_*``: the
        # terminal and the dotted rule after it; no item at dot 0 is made for them), the others become items
        pred_off = np.zeros(NS + 1, np.int64)
        predt_off = np.zeros(NS + 1, np.int64)
        pred, predt = [], []
        for s in range(NS):
            for r in cfg.rules_by_lhs.get(s, []):
                rhs = cfg.rules[r][1]
                if len(rhs) and rhs[0] < T:
                    predt.append((rhs[0], rule_first[r] + 1))
                else:
                    pred.append(r)
            pred_off[s + 1] = len(pred)
            predt_off[s + 1] = len(predt)
        self.pred_off = pred_off
        self.pred = np.array(pred, np.int64)
        self.predt_off = predt_off
        self.predt_term = np.array([t for t, _ in predt], np.int64)
        self.predt_dr = np.array([d for _, d in predt], np.int64)
        # FIRST sets as bit words: the terminals a string derived from each symbol can start with
        first = [1 << s if s < T else 0 for s in range(NS)]       # Python ints as bit sets
        changed = True
        while changed:
            changed = False
            for lhs, rhs in cfg.rules:
                f = first[lhs]
                for x in rhs:
                    f |= first[x]
                    if not nullable[x]:
                        break
                if f != first[lhs]:
                    first[lhs] = f
                    changed = True
        W = max(1, (T + 63) // 64)
        self.first_bits = np.array([[(f >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(W)] for f in first],
                                   np.uint64).reshape(NS, W)
        self.empty = cfg.is_empty_language


@njit(cache=True)
def _node_bits(n, W, e_off, e_term):
    """Per node: the terminals on its out-edges, as bit words."""
    bits = np.zeros((n, W), np.uint64)
    for u in range(n):
        for e in range(e_off[u], e_off[u + 1]):
            t = e_term[e]
            bits[u, t // 64] |= np.uint64(1) << np.uint64(t % 64)
    return bits


@njit(cache=True, inline="always")
def _viable(B, j, nullable, first_bits, node_bits):
    """Can an item whose next symbol is B (-1: complete) at node j still advance? Not when B is a terminal
    missing from j's edges, or a non-nullable nonterminal none of whose first terminals is on them: such an
    item never scans, completes or waits for anything, so it is not made."""
    if B < 0 or nullable[B]:
        return True
    for w in range(first_bits.shape[1]):
        if first_bits[B, w] & node_bits[j, w]:
            return True
    return False


def nfa_arrays(nfa):
    """Build every node reachable from the start node and flatten the ε-free edges."""
    init = nfa.node(0, ())
    order = [init]
    dense = {init: 0}
    i = 0
    while i < len(order):
        u = order[i]
        i += 1
        by_term, _, _, _ = nfa.edges(u)
        for es in by_term.values():
            for v, _, _ in es:
                if v not in dense:
                    dense[v] = len(order)
                    order.append(v)
    n = len(order)
    pos = np.array([nfa.pos(u) for u in order], np.int64)
    final = np.full(n, -1, np.int64)
    e_off = np.zeros(n + 1, np.int64)
    terms, dsts, costs = [], [], []
    for k, u in enumerate(order):
        by_term, fc, _, _ = nfa.edges(u)
        if fc is not None:
            final[k] = fc
        for t in sorted(by_term):
            for v, c, _ in by_term[t]:
                terms.append(t)
                dsts.append(dense[v])
                costs.append(c)
        e_off[k + 1] = len(terms)
    return (pos, final, e_off, np.array(terms, np.int64), np.array(dsts, np.int64), np.array(costs, np.int64))



@njit(cache=True)
def eps_closure(u, off, lab, dst, cost, eps_label):
    """Cheapest cost from node ``u`` to every node reachable over edges labelled ``eps_label`` (Dijkstra on the
    CSR edge lists ``off``/``lab``/``dst``/``cost``); a typed dict node → cost, ``u`` → 0 included."""
    cl = Dict.empty(types.int64, types.int64)
    cl[u] = 0
    h = [(np.int64(0), np.int64(u))]
    while len(h) > 0:
        d, w = heapq.heappop(h)
        if cl[w] != d:
            continue
        for e in range(off[w], off[w + 1]):
            if lab[e] == eps_label:
                v = dst[e]
                nd = d + cost[e]
                if v not in cl or cl[v] > nd:
                    cl[v] = nd
                    heapq.heappush(h, (nd, v))
    return cl


@njit(cache=True)
def terminal_edges(pos, M, r_off, r_lab, r_dst, r_cost, eps_label, base, LQ, lab_off, lab_terms):
    """The ε-free NFA of both builders from their raw edges (CSR ``r_off``/``r_lab``/``r_dst``/``r_cost``): node
    ``u`` gets, for every node ``w`` of its ε-closure (edges labelled ``eps_label``) and every raw edge of ``w``, one
    edge per terminal of the edge's label (``base <= L < LQ``: the label set ``L - base``; ``L >= LQ``: the terminal
    ``L - LQ``; other labels carry no terminal), at the cheapest cost per (terminal, target); ``final[u]`` = the
    cheapest closure cost to a node at position ``M``. Edges are sorted by (node, terminal, target): per node one
    array sort of the keys ``(term * n + target) * CW + cost`` keeps the first of each (term, target)."""
    n = pos.shape[0]
    CW = np.int64(1) << 24
    final = np.full(n, -1, np.int64)
    e_off = np.zeros(n + 1, np.int64)
    buf = np.empty(1024, np.int64)
    cap = 1024
    e_term = np.empty(cap, np.int64)
    e_dst = np.empty(cap, np.int64)
    e_cost = np.empty(cap, np.int64)
    n_e = 0
    for u in range(n):
        cl = eps_closure(u, r_off, r_lab, r_dst, r_cost, eps_label)
        m = 0
        for w, dw in cl.items():
            if pos[w] == M and (final[u] < 0 or dw < final[u]):
                final[u] = dw
            for e in range(r_off[w], r_off[w + 1]):
                L = r_lab[e]
                if L < base:
                    continue
                nd = dw + r_cost[e]
                if nd >= CW:
                    raise ValueError("edge cost too large for the sort keys")
                if L >= LQ:
                    lo = L - LQ
                    hi = lo + 1
                else:
                    lo = lab_off[L - base]
                    hi = lab_off[L - base + 1]
                if m + (hi - lo) > buf.shape[0]:
                    b2 = np.empty(max(2 * buf.shape[0], m + hi - lo), np.int64)
                    b2[:m] = buf[:m]
                    buf = b2
                for li in range(lo, hi):
                    t = li if L >= LQ else lab_terms[li]
                    buf[m] = (t * n + r_dst[e]) * CW + nd
                    m += 1
        srt = np.sort(buf[:m])
        if n_e + m > cap:
            cap = max(2 * cap, n_e + m)
            a = np.empty(cap, np.int64); a[:n_e] = e_term[:n_e]; e_term = a
            a = np.empty(cap, np.int64); a[:n_e] = e_dst[:n_e]; e_dst = a
            a = np.empty(cap, np.int64); a[:n_e] = e_cost[:n_e]; e_cost = a
        prev = np.int64(-1)
        for i in range(m):
            k = srt[i] // CW
            if k == prev:
                continue
            prev = k
            e_term[n_e] = k // n
            e_dst[n_e] = k % n
            e_cost[n_e] = srt[i] % CW
            n_e += 1
        e_off[u + 1] = n_e
    return final, e_off, e_term[:n_e].copy(), e_dst[:n_e].copy(), e_cost[:n_e].copy()

@njit(cache=True)
def _first_edge(e_term, lo, hi, t):
    while lo < hi:
        mid = (lo + hi) >> 1
        if e_term[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _chain_push(head, key, item, items, nexts, n):
    """Prepend ``item`` to the linked list of ``key`` (heads in the typed dict ``head``, nodes in ``items`` /
    ``nexts``, grown when full): (items, nexts, n + 1)."""
    if n == items.shape[0]:
        a = np.empty(2 * n, np.int64); a[:n] = items; items = a
        a = np.empty(2 * n, np.int64); a[:n] = nexts; nexts = a
    items[n] = item
    nexts[n] = head[key] if key in head else np.int64(-1)
    head[key] = n
    return items, nexts, n + 1


@njit(cache=True)
def earley_kernel(T, dr_next, dr_rule, rule_first, rule_lhs, nullable, pred_off, pred, predt_off, predt_term, predt_dr,
                  first_bits, pos, final, e_off, e_term, e_dst, e_cost, limit, max_work, depth_first):
    """Returns (cost or -1, work, status) with status 0 = decided, 1 = work budget hit.

    Cost-ordered (``depth_first`` False; Knuth's generalisation of Dijkstra): items leave a heap on
    ``(cost, position)``, each is processed once, at its least cost, and without a limit (``limit < 0``) the answer
    is the minimum (the goal leaves the heap first among equal costs). With a limit the question is only whether
    some derivation costs at most ``limit``: items costing more are never queued, and the first goal found within
    the limit is returned (a cost <= limit, not necessarily the least).

    Depth first (``depth_first``, needs a limit): label-correcting; items leave a stack, as in the cost-free kernel,
    and are processed again whenever a cheaper derivation of them turns up (at most ``limit + 1`` times each). A
    "yes" usually comes after a small part of the items the cost-ordered search settles first (all those cheaper
    than the answer); a "no" costs up to ``limit + 1`` times more."""
    n = pos.shape[0]
    NDR = dr_next.shape[0]
    NS = nullable.shape[0]
    NEVER = np.int64(1) << 62
    node_bits = _node_bits(n, first_bits.shape[1], e_off, e_term)
    cap = 1024
    it_o = np.empty(cap, np.int64)
    it_dr = np.empty(cap, np.int64)
    it_j = np.empty(cap, np.int64)
    it_c = np.empty(cap, np.int64)       # least cost found
    it_p = np.empty(cap, np.int64)       # cost when last processed (NEVER: not yet)
    n_items = 0
    index = Dict.empty(types.int64, types.int64)
    # waiting lists: (o, B) -> head; nodes in wl_item/wl_next
    w_head = Dict.empty(types.int64, types.int64)
    wl_item = np.empty(1024, np.int64)
    wl_next = np.empty(1024, np.int64)
    n_wl = 0
    # completed: (o, B) -> head; nodes (item index)
    c_head = Dict.empty(types.int64, types.int64)
    cl_item = np.empty(1024, np.int64)
    cl_next = np.empty(1024, np.int64)
    n_cl = 0
    predicted = Dict.empty(types.int64, types.int64)
    heap = [(np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    todo = [np.int64(0)]
    todo.pop()
    GOAL = np.int64(-2)
    goal_cost = np.int64(-1)
    work = 0
    # pending pushes (o, dr, j, cost); the initial item: (0, rule 0 at dot 0, 0)
    stack_o = [np.int64(0)]
    stack_dr = [rule_first[0]]
    stack_j = [np.int64(0)]
    stack_c = [np.int64(0)]

    while True:
        while len(stack_o) > 0:
            o = stack_o.pop(); dr = stack_dr.pop(); j = stack_j.pop(); c = stack_c.pop()
            if limit >= 0 and c > limit:
                continue
            if j == GOAL:
                if limit >= 0:
                    return c, work, 0
                if goal_cost < 0 or c < goal_cost:
                    goal_cost = c
                    heapq.heappush(heap, (c, np.int64(-1), np.int64(-1)))
                continue
            if not _viable(dr_next[dr], j, nullable, first_bits, node_bits):
                continue
            key = (o * NDR + dr) * n + j
            k = index[key] if key in index else np.int64(-1)
            if k >= 0:
                if it_c[k] <= c:
                    continue
                it_c[k] = c
            else:
                if n_items == cap:
                    cap *= 2
                    a = np.empty(cap, np.int64); a[:n_items] = it_o[:n_items]; it_o = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_dr[:n_items]; it_dr = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_j[:n_items]; it_j = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_c[:n_items]; it_c = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_p[:n_items]; it_p = a
                k = n_items
                n_items += 1
                it_o[k] = o; it_dr[k] = dr; it_j[k] = j; it_c[k] = c; it_p[k] = NEVER
                index[key] = k
            if depth_first:
                todo.append(k)
            else:
                heapq.heappush(heap, (c, pos[j], np.int64(k)))
        if depth_first:
            if len(todo) == 0:
                return np.int64(-1), work, 0
            k = todo.pop()
            c = it_c[k]
        else:
            if len(heap) == 0:
                return np.int64(-1), work, 0
            c, p, k = heapq.heappop(heap)
            if k < 0:
                return c, work, 0
            if it_c[k] != c:
                continue                  # a stale entry: the item was queued again, cheaper
        if it_p[k] <= c:
            continue
        first = it_p[k] == NEVER
        it_p[k] = c
        work += 1
        if max_work >= 0 and work > max_work:
            return np.int64(-1), work, 1
        o = it_o[k]; dr = it_dr[k]; j = it_j[k]
        B = dr_next[dr]
        if B >= 0 and B < T:
            lo = _first_edge(e_term, e_off[j], e_off[j + 1], B)
            hi = e_off[j + 1]
            while lo < hi and e_term[lo] == B:
                stack_o.append(o); stack_dr.append(dr + 1); stack_j.append(e_dst[lo]); stack_c.append(c + e_cost[lo])
                lo += 1
        elif B >= 0:
            wk = j * NS + B
            if first:
                wl_item, wl_next, n_wl = _chain_push(w_head, wk, k, wl_item, wl_next, n_wl)
                if wk not in predicted:
                    predicted[wk] = 1
                    for pi in range(pred_off[B], pred_off[B + 1]):
                        stack_o.append(j); stack_dr.append(rule_first[pred[pi]]); stack_j.append(j)
                        stack_c.append(np.int64(0))
                    for pi in range(predt_off[B], predt_off[B + 1]):      # predicted and scanned in one step
                        t = predt_term[pi]
                        lo = _first_edge(e_term, e_off[j], e_off[j + 1], t)
                        hi = e_off[j + 1]
                        while lo < hi and e_term[lo] == t:
                            stack_o.append(j); stack_dr.append(predt_dr[pi]); stack_j.append(e_dst[lo])
                            stack_c.append(e_cost[lo])
                            lo += 1
            if nullable[B]:
                stack_o.append(o); stack_dr.append(dr + 1); stack_j.append(j); stack_c.append(c)
            h = c_head[wk] if wk in c_head else np.int64(-1)
            while h >= 0:
                ck = cl_item[h]
                stack_o.append(o); stack_dr.append(dr + 1); stack_j.append(it_j[ck]); stack_c.append(c + it_c[ck])
                h = cl_next[h]
        else:
            r = dr_rule[dr]
            A = rule_lhs[r]
            ckey = o * NS + A
            if first:
                cl_item, cl_next, n_cl = _chain_push(c_head, ckey, k, cl_item, cl_next, n_cl)
            h = w_head[ckey] if ckey in w_head else np.int64(-1)
            while h >= 0:
                wk2 = wl_item[h]
                stack_o.append(it_o[wk2]); stack_dr.append(it_dr[wk2] + 1); stack_j.append(j); stack_c.append(it_c[wk2] + c)
                h = wl_next[h]
            if r == 0 and o == 0 and final[j] >= 0:
                stack_o.append(np.int64(0)); stack_dr.append(np.int64(0)); stack_j.append(GOAL); stack_c.append(c + final[j])


USE_KERNEL0 = True   # cost-free automata: stack + open addressing kernel (tests switch it off to compare)
USE_KERNEL_WITHIN = True   # questions with a limit: the depth-first kernel first (tests switch it off to compare)
WITHIN_WORK = 20_000       # its work cap before the cost-ordered kernel takes over


def run_fast(ga: GrammarArrays, nfa=None, limit=None, max_work=None, arrays=None):
    """Min cost to the goal (with ``limit``: some cost <= limit, None if there is none), work, budget_hit.

    ``arrays``: a prebuilt NFA (:func:`nfa_arrays_fast`); otherwise built from ``nfa`` in Python."""
    if ga.empty:
        return None, 0, False
    pos, final, e_off, e_term, e_dst, e_cost = arrays if arrays is not None else nfa_arrays(nfa)
    if USE_KERNEL0 and limit is None and not e_cost.any() and (final.shape[0] == 0 or final.max() <= 0):
        found, work, status = earley_kernel0(
            np.int64(ga.T), ga.dr_next, ga.dr_rule, ga.rule_first, ga.rule_lhs, ga.nullable, ga.pred_off, ga.pred,
            ga.predt_off, ga.predt_term, ga.predt_dr, ga.first_bits, pos, final, e_off, e_term, e_dst,
            np.int64(-1 if max_work is None else max_work))
        if status == 1:
            return None, int(work), True
        return (0 if found else None), int(work), False
    args = (np.int64(ga.T), ga.dr_next, ga.dr_rule, ga.rule_first, ga.rule_lhs, ga.nullable, ga.pred_off, ga.pred,
            ga.predt_off, ga.predt_term, ga.predt_dr, ga.first_bits, pos, final, e_off, e_term, e_dst, e_cost,
            np.int64(-1 if limit is None else limit))
    done = 0
    if limit is not None and USE_KERNEL_WITHIN:
        # depth first with a small work cap: most "yes" answers take a few hundred items this way; otherwise (a
        # "no", or a search that wandered) the cost-ordered kernel settles it
        cap = WITHIN_WORK if max_work is None else min(WITHIN_WORK, max_work)
        c, work, status = earley_kernel(*args, np.int64(cap), True)
        if status == 0:
            return (None if c < 0 else int(c)), int(work), False
        done = int(work)
        if max_work is not None and done >= max_work:
            return None, done, True
    c, work, status = earley_kernel(*args, np.int64(-1 if max_work is None else max_work - done), False)
    if status == 1:
        return None, int(work) + done, True
    return (None if c < 0 else int(c)), int(work) + done, False


@njit(cache=True)
def _walk(p0, c0, kind, costed, trans, end, lab, byte_class, M, NC, best):
    """One-lexeme walks from byte-level state (p0, c0) (a byte read in hole p costs ``costed[p]``, 0 = free).
    Records into ``best``: key (lab+2) * ((M+1)*NC) + target node key -> min cost."""
    ncls = trans.shape[1]
    dist = Dict.empty(types.int64, types.int64)
    heap = [(np.int64(0), p0, c0)]
    dist[p0 * NC + c0] = 0
    while len(heap) > 0:
        d, p, c = heapq.heappop(heap)
        if dist[p * NC + c] != d:
            continue
        if end[c] >= 0:
            tk = p * NC + end[c]
            bk = (lab[c] + 2) * ((M + 1) * NC) + tk
            if bk not in best or best[bk] > d:
                best[bk] = d
        if p >= M:
            continue
        if kind[p] == -1:
            w = costed[p]
            for k in range(ncls):
                c2 = trans[c, k]
                if c2 >= 0:
                    key = p * NC + c2
                    if key not in dist or dist[key] > d + w:
                        dist[key] = d + w
                        heapq.heappush(heap, (d + w, p, c2))
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
def hole_reach_kernel(trans, boundary):
    """Per grammar: for each boundary configuration, the configurations reachable inside a hole
    (any bytes, within one lexeme) with the fewest bytes. CSR (off, conf, dist)."""
    NC = trans.shape[0]
    ncls = trans.shape[1]
    off = np.zeros(boundary.shape[0] + 1, np.int64)
    confs = [np.int64(0)]; confs.pop()
    dists = [np.int64(0)]; dists.pop()
    seen = np.full(NC, -1, np.int64)
    for i in range(boundary.shape[0]):
        c0 = boundary[i]
        q = [c0]
        seen[c0] = i
        dq = [np.int64(0)]
        h = 0
        while h < len(q):
            c = q[h]
            d = dq[h]
            h += 1
            confs.append(c)
            dists.append(d)
            for k in range(ncls):
                c2 = trans[c, k]
                if c2 >= 0 and seen[c2] != i:
                    seen[c2] = i
                    q.append(c2)
                    dq.append(d + 1)
        off[i + 1] = len(confs)
    return off, np.array(confs, np.int64), np.array(dists, np.int64)


@njit(cache=True)
def build_nfa_kernel(kind, costed, trans, end, lab, lab_off, lab_terms, byte_class, bidx, rc_off, rc_conf, rc_dist):
    """The token-boundary NFA of :class:`.completion.LexNFA`, fully built, as arrays.

    ``kind[p]``: byte or -1 (hole); ``costed[p]``: the cost of a byte read at hole p (int64, 0 = free). Boundary nodes
    inside a hole use the per-grammar reach table (``bidx``/``r_*``) and memoised exit walks.
    Returns (pos, final, e_off, e_term, e_dst, e_cost) with node 0 = start, edges ε-free and
    sorted by (node, terminal)."""
    M = kind.shape[0]
    NC = trans.shape[0]
    node_of = Dict.empty(types.int64, types.int64)
    node_p = [np.int64(0)]
    node_c = [np.int64(0)]
    node_of[0] = 0
    r_off = [np.int64(0)]
    r_lab = [np.int64(0)]; r_lab.pop()
    r_dst = [np.int64(0)]; r_dst.pop()
    r_cost = [np.int64(0)]; r_cost.pop()
    memo = Dict.empty(types.int64, types.int64)      # p*NC + c -> index into memo_start
    memo_start = [np.int64(0)]
    memo_key = [np.int64(0)]; memo_key.pop()
    memo_cost = [np.int64(0)]; memo_cost.pop()
    u = 0
    while u < len(node_p):
        p0 = node_p[u]
        c0 = node_c[u]
        best = Dict.empty(types.int64, types.int64)
        if p0 < M and kind[p0] == -1 and bidx[c0] >= 0:
            w = costed[p0]
            bi = bidx[c0]
            for ri in range(rc_off[bi], rc_off[bi + 1]):
                c = rc_conf[ri]
                d = rc_dist[ri] * w
                if end[c] >= 0:
                    bk = (lab[c] + 2) * ((M + 1) * NC) + p0 * NC + end[c]
                    if bk not in best or best[bk] > d:
                        best[bk] = d
                if c == c0:
                    continue
                mk = p0 * NC + c
                if mk not in memo:
                    tmp = Dict.empty(types.int64, types.int64)
                    _walk(p0 + 1, c, kind, costed, trans, end, lab, byte_class, M, NC, tmp)
                    for k2, d2 in tmp.items():
                        memo_key.append(k2)
                        memo_cost.append(d2)
                    memo[mk] = len(memo_start) - 1
                    memo_start.append(np.int64(len(memo_key)))
                mi = memo[mk]
                for x in range(memo_start[mi], memo_start[mi + 1]):
                    bk = memo_key[x]
                    nd = d + memo_cost[x]
                    if bk not in best or best[bk] > nd:
                        best[bk] = nd
        else:
            _walk(p0, c0, kind, costed, trans, end, lab, byte_class, M, NC, best)
        if p0 < M and kind[p0] == -1:
            bk = (p0 + 1) * NC + c0        # label -2 (ε): leave the hole
            best[bk] = 0
        for bk, d in best.items():
            lb = bk // ((M + 1) * NC) - 2
            tk = bk % ((M + 1) * NC)
            if tk not in node_of:
                node_of[tk] = len(node_p)
                node_p.append(tk // NC)
                node_c.append(tk % NC)
            r_lab.append(lb)
            r_dst.append(node_of[tk])
            r_cost.append(d)
        r_off.append(np.int64(len(r_lab)))
        u += 1
    n = len(node_p)
    pos = np.empty(n, np.int64)
    for i in range(n):
        pos[i] = node_p[i]
    final, e_off, e_term, e_dst, e_cost = terminal_edges(pos, M, r_off, r_lab, r_dst, r_cost, -2, 0,
                                                         np.int64(1) << 62, lab_off, lab_terms)
    return pos, final, e_off, e_term, e_dst, e_cost


def nfa_arrays_fast(ct, pattern, costed=frozenset(), weights=None):
    """The automaton of ``pattern`` with the bytes of the ``costed`` holes costing 1 each, or ``weights[h]`` each
    (dict hole index -> positive int) when given."""
    kind = np.array(pattern.kind, np.int64)
    cst = np.zeros(pattern.M, np.int64)
    for p in pattern.hole_pos:
        h = pattern.hole_of[p]
        if h in costed:
            cst[p] = 1 if weights is None else int(weights[h])
    if getattr(ct, "reach", None) is None:
        boundary = np.unique(np.concatenate([[0], ct.end[ct.end >= 0]])).astype(np.int64)
        bidx = np.full(ct.trans.shape[0], -1, np.int64)
        bidx[boundary] = np.arange(len(boundary))
        ct.reach = (bidx,) + tuple(hole_reach_kernel(ct.trans, boundary))
    bidx, r_off, r_conf, r_dist = ct.reach
    return build_nfa_kernel(kind, cst, ct.trans, ct.end, ct.lab, ct.lab_off, ct.lab_terms, ct.byte_class,
                            bidx, r_off, r_conf, r_dist)


@njit(cache=True)
def _subset_hash(a):
    h = np.int64(1469598103934665603)
    for x in a:
        h = (h ^ x) * np.int64(1099511628211)
    return h


@njit(cache=True)
def subset_kernel(pos, final, e_off, e_term, e_dst, n_terms):
    """Subset construction of the ε-free boundary NFA (costs must all be 0).

    Returns (d_pos = min member position, d_final, d_off, d_term, d_dst) with edges sorted by
    terminal; DFA state 0 = {start}."""
    n = pos.shape[0]
    s_off = [np.int64(0), np.int64(1)]
    s_mem = [np.int64(0)]
    table = Dict.empty(types.int64, types.int64)   # hash -> first subset id
    chain = [np.int64(-1)]
    table[_subset_hash(np.zeros(1, np.int64))] = 0
    d_off = [np.int64(0)]
    d_term = [np.int64(0)]; d_term.pop()
    d_dst = [np.int64(0)]; d_dst.pop()
    d_pos = [pos[0]]
    d_final = [final[0] >= 0]
    i = 0
    while i < len(s_off) - 1:
        lo, hi = s_off[i], s_off[i + 1]
        cnt = 0
        for k in range(lo, hi):
            u = s_mem[k]
            cnt += e_off[u + 1] - e_off[u]
        keys = np.empty(cnt, np.int64)
        c = 0
        for k in range(lo, hi):
            u = s_mem[k]
            for e in range(e_off[u], e_off[u + 1]):
                keys[c] = e_term[e] * n + e_dst[e]
                c += 1
        keys = np.unique(keys)
        a = 0
        while a < keys.shape[0]:
            t = keys[a] // n
            b = a
            while b < keys.shape[0] and keys[b] // n == t:
                b += 1
            mem = keys[a:b] % n
            h = _subset_hash(mem)
            found = -1
            if h in table:
                j = table[h]
                while j >= 0:
                    jl, jh = s_off[j], s_off[j + 1]
                    if jh - jl == mem.shape[0]:
                        same = True
                        for x in range(mem.shape[0]):
                            if s_mem[jl + x] != mem[x]:
                                same = False
                                break
                        if same:
                            found = j
                            break
                    j = chain[j]
            if found < 0:
                found = len(s_off) - 1
                chain.append(table[h] if h in table else np.int64(-1))
                table[h] = found
                mp = pos[mem[0]]
                fin = False
                for x in mem:
                    s_mem.append(x)
                    if pos[x] < mp:
                        mp = pos[x]
                    if final[x] >= 0:
                        fin = True
                s_off.append(np.int64(len(s_mem)))
                d_pos.append(mp)
                d_final.append(fin)
            d_term.append(t)
            d_dst.append(np.int64(found))
            a = b
        d_off.append(np.int64(len(d_term)))
        i += 1
    return (np.array(d_pos, np.int64), np.array(d_final, np.bool_), np.array(d_off, np.int64),
            np.array(d_term, np.int64), np.array(d_dst, np.int64))


_RNG_ROWS = np.random.default_rng(12345)


def _row_classes(sig):
    """Class id per row (equal rows ↔ equal ids): hash rows, then verify exactly; np.unique fallback."""
    r = _RNG_ROWS.integers(1, 2**62, size=sig.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        h = (sig * r).sum(1)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    if np.array_equal(sig, sig[first[inv]]):
        return inv
    _, inv = np.unique(sig, axis=0, return_inverse=True)
    return np.asarray(inv).reshape(-1)


def minimize_layered(d_pos, d_final, d_off, d_term, d_dst, n_terms, hole_positions=None):
    """Merge language-equivalent DFA states, layer by layer (a layer = states with the same
    minimum position; edges never go to a lower layer). Moore refinement inside each layer
    (holes make a layer cyclic), exact comparison of rows; states of different layers are never
    merged (sound, only less reduction). With ``hole_positions`` only the layers at those
    positions are refined (text layers hardly ever merge). Returns the quotient as NFA arrays."""
    n = d_pos.shape[0]
    cls = np.arange(n, dtype=np.int64) + n        # every state its own class to begin with
    next_id = 2 * n
    d_src = np.repeat(np.arange(n, dtype=np.int64), np.diff(d_off))
    positions = np.unique(d_pos)
    if hole_positions is not None:
        positions = np.intersect1d(positions, np.asarray(list(hole_positions), np.int64))
    local = np.full(n, -1, np.int64)
    for p in positions[::-1]:
        layer = np.flatnonzero(d_pos == p)
        m = len(layer)
        if m <= 1:
            continue
        local[layer] = np.arange(m)
        ee = np.flatnonzero(d_pos[d_src] == p)
        used_terms = np.unique(d_term[ee])
        rows_i = local[d_src[ee]]
        cols_i = np.searchsorted(used_terms, d_term[ee])
        dst = d_dst[ee]
        tgt = np.full((m, len(used_terms)), -1, np.int64)
        same = np.zeros((m, len(used_terms)), bool)
        is_same = local[dst] >= 0
        tgt[rows_i, cols_i] = np.where(is_same, local[dst], cls[dst])
        same[rows_i, cols_i] = is_same
        block = d_final[layer].astype(np.int64)
        nb = len(np.unique(block))
        while True:
            rows = np.where(same, -block[np.maximum(tgt, 0)] - 2, tgt)
            sig = np.concatenate([block[:, None], rows], 1)
            new = _row_classes(sig)
            nn = int(new.max()) + 1
            block = new
            if nn == nb:
                break
            nb = nn
        cls[layer] = block + next_id
        next_id += nb
        local[layer] = -1
    _, cls = np.unique(cls, return_inverse=True)
    cls = np.asarray(cls, np.int64).reshape(-1)
    n_cls = int(cls.max()) + 1
    # quotient: one representative per class, start state's class renumbered to 0
    perm = np.arange(n_cls)
    c0 = cls[0]
    perm[[0, c0]] = perm[[c0, 0]]      # an involution
    ncls_of = perm[cls]
    _, rep = np.unique(ncls_of, return_index=True)
    is_rep = np.zeros(n, bool)
    is_rep[rep] = True
    em = is_rep[d_src]
    src = ncls_of[d_src[em]]
    terms = d_term[em]
    dsts = ncls_of[d_dst[em]]
    o = np.lexsort((terms, src))
    src, terms, dsts = src[o], terms[o], dsts[o]
    q_off = np.zeros(n_cls + 1, np.int64)
    np.add.at(q_off, src + 1, 1)
    q_off = np.cumsum(q_off)
    q_pos = d_pos[rep]
    q_final = np.where(d_final[rep], 0, -1).astype(np.int64)
    return (q_pos.astype(np.int64), q_final, q_off.astype(np.int64), terms.astype(np.int64),
            dsts.astype(np.int64), np.zeros(len(terms), np.int64))


# --------------------------------------------------------------------------------------------
# Cost-free variant: every edge and final cost is 0 (no costed hole), so the deduction is a plain
# fixpoint and the processing order does not matter (waiting items and completions are both
# recorded, each binary step fires when the later of its two premises is processed). A stack
# replaces the priority queue and open-addressing tables over int64 arrays replace typed dicts.

@njit(cache=True, inline="always")
def _h(key, mask):
    x = key * np.int64(-7046029254386353131)
    return (x ^ (x >> 29)) & mask


@njit(cache=True)
def _grow(keys, vals):
    cap = keys.shape[0] * 2
    nk = np.full(cap, -1, np.int64)
    nv = np.empty(cap, np.int64)
    mask = cap - 1
    for i in range(keys.shape[0]):
        k = keys[i]
        if k >= 0:
            s = _h(k, mask)
            while nk[s] >= 0:
                s = (s + 1) & mask
            nk[s] = k
            nv[s] = vals[i]
    return nk, nv


@njit(cache=True, inline="always")
def _find(keys, key):
    mask = keys.shape[0] - 1
    s = _h(key, mask)
    while True:
        k = keys[s]
        if k == key or k < 0:
            return s
        s = (s + 1) & mask


@njit(cache=True, inline="always")
def _grow3(a, b, c, n, need):
    """The three parallel stacks ``a``, ``b``, ``c`` (first ``n`` entries used) with room for ``need`` entries."""
    cap = max(need, 2 * a.shape[0])
    a2 = np.empty(cap, np.int64); a2[:n] = a[:n]
    b2 = np.empty(cap, np.int64); b2[:n] = b[:n]
    c2 = np.empty(cap, np.int64); c2[:n] = c[:n]
    return a2, b2, c2


@njit(cache=True)
def earley_kernel0(T, dr_next, dr_rule, rule_first, rule_lhs, nullable, pred_off, pred, predt_off, predt_term, predt_dr,
                   first_bits, pos, final, e_off, e_term, e_dst, max_work):
    """Recogniser for cost-free automata: returns (1 found / 0 not, work, status 0/1 budget)."""
    n = pos.shape[0]
    NDR = dr_next.shape[0]
    NS = nullable.shape[0]
    node_bits = _node_bits(n, first_bits.shape[1], e_off, e_term)
    it_o = np.empty(1024, np.int64)
    it_dr = np.empty(1024, np.int64)
    it_j = np.empty(1024, np.int64)
    n_items = 0
    ix_k = np.full(4096, -1, np.int64)     # item index: key -> item
    ix_v = np.empty(4096, np.int64)
    n_ix = 0
    wk_k = np.full(1024, -1, np.int64)     # (j, B) -> head of waiting list
    wk_v = np.empty(1024, np.int64)
    n_wk = 0
    ck_k = np.full(1024, -1, np.int64)     # (o, A) -> head of completed list
    ck_v = np.empty(1024, np.int64)
    n_ck = 0
    wcap = 1024
    wl_item = np.empty(wcap, np.int64)
    wl_next = np.empty(wcap, np.int64)
    n_wl = 0
    ccap = 1024
    cl_item = np.empty(ccap, np.int64)
    cl_next = np.empty(ccap, np.int64)
    n_cl = 0
    todo = np.empty(1024, np.int64)
    n_todo = 0
    pend_o = np.empty(1024, np.int64)
    pend_dr = np.empty(1024, np.int64)
    pend_j = np.empty(1024, np.int64)
    n_pend = 1
    pend_o[0] = 0
    pend_dr[0] = rule_first[0]
    pend_j[0] = 0
    work = 0
    while True:
        while n_pend > 0:
            n_pend -= 1
            o = pend_o[n_pend]; dr = pend_dr[n_pend]; j = pend_j[n_pend]
            if j < 0:
                return 1, work, 0
            if not _viable(dr_next[dr], j, nullable, first_bits, node_bits):
                continue
            key = (o * NDR + dr) * n + j
            s = _find(ix_k, key)
            if ix_k[s] >= 0:
                continue
            ix_k[s] = key
            ix_v[s] = n_items
            n_ix += 1
            if n_items == it_o.shape[0]:
                it_o, it_dr, it_j = _grow3(it_o, it_dr, it_j, n_items, n_items + 1)
            it_o[n_items] = o; it_dr[n_items] = dr; it_j[n_items] = j
            if n_todo == todo.shape[0]:
                a = np.empty(2 * n_todo, np.int64); a[:n_todo] = todo; todo = a
            todo[n_todo] = n_items
            n_todo += 1
            n_items += 1
            if 2 * n_ix > ix_k.shape[0]:
                ix_k, ix_v = _grow(ix_k, ix_v)
        if n_todo == 0:
            return 0, work, 0
        n_todo -= 1
        k = todo[n_todo]
        work += 1
        if max_work >= 0 and work > max_work:
            return 0, work, 1
        o = it_o[k]; dr = it_dr[k]; j = it_j[k]
        B = dr_next[dr]
        # room for the pushes of this step
        need = n_pend + 8 + (e_off[j + 1] - e_off[j])
        if B >= T:
            need += pred_off[B + 1] - pred_off[B]
        if need > pend_o.shape[0]:
            pend_o, pend_dr, pend_j = _grow3(pend_o, pend_dr, pend_j, n_pend, need)
        if B >= 0 and B < T:
            lo = _first_edge(e_term, e_off[j], e_off[j + 1], B)
            hi = e_off[j + 1]
            while lo < hi and e_term[lo] == B:
                pend_o[n_pend] = o; pend_dr[n_pend] = dr + 1; pend_j[n_pend] = e_dst[lo]
                n_pend += 1
                lo += 1
        elif B >= 0:
            wk = j * NS + B
            if n_wl == wcap:
                wcap *= 2
                a = np.empty(wcap, np.int64); a[:n_wl] = wl_item[:n_wl]; wl_item = a
                a = np.empty(wcap, np.int64); a[:n_wl] = wl_next[:n_wl]; wl_next = a
            s = _find(wk_k, wk)
            fresh = wk_k[s] < 0
            wl_item[n_wl] = k
            wl_next[n_wl] = -1 if fresh else wk_v[s]
            if fresh:
                wk_k[s] = wk
                n_wk += 1
            wk_v[s] = n_wl
            n_wl += 1
            if fresh:
                for pi in range(pred_off[B], pred_off[B + 1]):
                    pend_o[n_pend] = j; pend_dr[n_pend] = rule_first[pred[pi]]; pend_j[n_pend] = j
                    n_pend += 1
                for pi in range(predt_off[B], predt_off[B + 1]):          # predicted and scanned in one step
                    t = predt_term[pi]
                    lo = _first_edge(e_term, e_off[j], e_off[j + 1], t)
                    hi = e_off[j + 1]
                    while lo < hi and e_term[lo] == t:
                        if n_pend == pend_o.shape[0]:
                            pend_o, pend_dr, pend_j = _grow3(pend_o, pend_dr, pend_j, n_pend, n_pend + 1)
                        pend_o[n_pend] = j; pend_dr[n_pend] = predt_dr[pi]; pend_j[n_pend] = e_dst[lo]
                        n_pend += 1
                        lo += 1
                if 2 * n_wk > wk_k.shape[0]:
                    wk_k, wk_v = _grow(wk_k, wk_v)
            if nullable[B]:
                pend_o[n_pend] = o; pend_dr[n_pend] = dr + 1; pend_j[n_pend] = j
                n_pend += 1
            s = _find(ck_k, wk)
            h = ck_v[s] if ck_k[s] >= 0 else np.int64(-1)
            while h >= 0:
                if n_pend == pend_o.shape[0]:
                    pend_o, pend_dr, pend_j = _grow3(pend_o, pend_dr, pend_j, n_pend, n_pend + 1)
                pend_o[n_pend] = o; pend_dr[n_pend] = dr + 1; pend_j[n_pend] = it_j[cl_item[h]]
                n_pend += 1
                h = cl_next[h]
        else:
            r = dr_rule[dr]
            A = rule_lhs[r]
            ckey = o * NS + A
            if n_cl == ccap:
                ccap *= 2
                a = np.empty(ccap, np.int64); a[:n_cl] = cl_item[:n_cl]; cl_item = a
                a = np.empty(ccap, np.int64); a[:n_cl] = cl_next[:n_cl]; cl_next = a
            s = _find(ck_k, ckey)
            fresh = ck_k[s] < 0
            cl_item[n_cl] = k
            cl_next[n_cl] = -1 if fresh else ck_v[s]
            if fresh:
                ck_k[s] = ckey
                n_ck += 1
            ck_v[s] = n_cl
            n_cl += 1
            if fresh and 2 * n_ck > ck_k.shape[0]:
                ck_k, ck_v = _grow(ck_k, ck_v)
            s = _find(wk_k, ckey)
            h = wk_v[s] if wk_k[s] >= 0 else np.int64(-1)
            while h >= 0:
                if n_pend == pend_o.shape[0]:
                    pend_o, pend_dr, pend_j = _grow3(pend_o, pend_dr, pend_j, n_pend, n_pend + 1)
                wk2 = wl_item[h]
                pend_o[n_pend] = it_o[wk2]; pend_dr[n_pend] = it_dr[wk2] + 1; pend_j[n_pend] = j
                n_pend += 1
                h = wl_next[h]
            if r == 0 and o == 0 and final[j] >= 0:
                pend_o[n_pend] = 0; pend_dr[n_pend] = 0; pend_j[n_pend] = -1
                n_pend += 1
# ----------------------------------------------------------------------------- NFA bisimulation quotient
@njit(cache=True)
def _sig_hash(a, lo, hi, salt):
    h = np.int64(1469598103934665603) ^ (salt + 7)
    for i in range(lo, hi):
        h = (h ^ a[i]) * np.int64(1099511628211)
        h ^= h >> 31
    return h


@njit(cache=True)
def _edge_keys(u, e_off, e_term, e_cost, e_dst, tgt, CM, W, buf):
    """Sorted distinct keys ``(term * CM + cost) * W + tgt[target]`` of node u's edges: (keys, count, buffer)."""
    d = e_off[u + 1] - e_off[u]
    if d > buf.shape[0]:
        buf = np.empty(2 * d, np.int64)
    for k in range(d):
        e = e_off[u] + k
        buf[k] = (e_term[e] * CM + e_cost[e]) * W + tgt[e_dst[e]]
    srt = np.sort(buf[:d])
    m = 0
    for k in range(d):
        if m == 0 or srt[k] != srt[m - 1]:
            srt[m] = srt[k]
            m += 1
    return srt, m, buf


@njit(cache=True)
def _same_run(store, a, b, srt, m):
    if b - a != m:
        return False
    for k in range(m):
        if store[a + k] != srt[k]:
            return False
    return True


@njit(cache=True)
def bisim_quotient(pos, final, e_off, e_term, e_dst, e_cost):
    """Forward-bisimulation quotient of an ε-free NFA (node 0 = start; edges sorted by node and terminal).

    Two nodes are merged when they have the same final cost and, for every (terminal, cost), edges into the same
    classes: then they accept the same weighted language, so the quotient has the same language (and the same least
    costs) as the input, usually with far fewer nodes: the boundary nodes of a hole that differ only in lexer
    configurations the text after the hole never distinguishes, text nodes whose lexings converge. Nodes are
    classed layer by layer (a layer = the nodes of one position, edges never go to a lower position), from the
    last position back: a layer without edges inside it is classed in one pass, by signature (sorted edge keys
    ``(term, cost, class of target)``) shared with the classes of later layers; a layer with edges inside it (a
    hole's own loops) by Moore refinement within the layer. Returns (ok, arrays): ok False when an edge goes to
    a lower position or the keys would overflow (the input is then returned unchanged)."""
    n = pos.shape[0]
    m_e = e_term.shape[0]
    if n <= 1:
        return True, pos, final, e_off, e_term, e_dst, e_cost
    tmax = np.int64(0)
    cmax = np.int64(0)
    for e in range(m_e):
        tmax = max(tmax, e_term[e])
        cmax = max(cmax, e_cost[e])
    for u in range(n):
        for e in range(e_off[u], e_off[u + 1]):
            if pos[e_dst[e]] < pos[u]:
                return False, pos, final, e_off, e_term, e_dst, e_cost
    W = np.int64(2 * n + 2)            # target ids: classes < n, in-layer blocks shifted by n
    CM = cmax + 1
    if (tmax + 1) * CM > (np.int64(1) << 62) // W:
        return False, pos, final, e_off, e_term, e_dst, e_cost
    order = np.argsort(pos, kind="mergesort")
    cls = np.full(n, -1, np.int64)
    tgt = np.full(n, -1, np.int64)     # target id per node while classing: its class, or n + block in the layer
    n_cls = 0
    # signatures registered for sharing (classes of layers without inner edges): CSR of keys, final cost, hash
    # chains, class id
    s_off = [np.int64(0)]
    s_key = [np.int64(0)]
    s_key.pop()
    s_fin = [np.int64(0)]
    s_fin.pop()
    s_next = [np.int64(0)]
    s_next.pop()
    s_cls = [np.int64(0)]
    s_cls.pop()
    head = Dict.empty(types.int64, types.int64)
    buf = np.empty(64, np.int64)
    hi = n
    while hi > 0:
        lo = hi - 1
        p = pos[order[lo]]
        while lo > 0 and pos[order[lo - 1]] == p:
            lo -= 1
        inner = False
        for i in range(lo, hi):
            u = order[i]
            for e in range(e_off[u], e_off[u + 1]):
                if pos[e_dst[e]] == p:
                    inner = True
        if not inner:
            for i in range(lo, hi):
                u = order[i]
                srt, m, buf = _edge_keys(u, e_off, e_term, e_cost, e_dst, tgt, CM, W, buf)
                h = _sig_hash(srt, 0, m, final[u])
                r = head[h] if h in head else np.int64(-1)
                while r >= 0 and not (s_fin[r] == final[u] and _same_run(s_key, s_off[r], s_off[r + 1], srt, m)):
                    r = s_next[r]
                if r < 0:
                    r = np.int64(len(s_cls))
                    s_cls.append(n_cls)
                    n_cls += 1
                    for k in range(m):
                        s_key.append(srt[k])
                    s_off.append(np.int64(len(s_key)))
                    s_fin.append(final[u])
                    s_next.append(head[h] if h in head else np.int64(-1))
                    head[h] = r
                cls[u] = s_cls[r]
        else:
            # Moore refinement inside the layer; classes of other layers are fixed
            L = hi - lo
            blk = np.zeros(L, np.int64)
            nb = 0
            while True:
                for i in range(lo, hi):
                    tgt[order[i]] = n + blk[i - lo]
                seen = Dict.empty(types.int64, types.int64)      # hash -> first new block with it
                r_off = np.zeros(L + 1, np.int64)
                keys = [np.int64(0)]
                keys.pop()
                new = np.empty(L, np.int64)
                rep_of = [np.int64(0)]       # per new block: its first member (layer index)
                rep_of.pop()
                rep_next = [np.int64(0)]     # per new block: the next block with the same hash
                rep_next.pop()
                for i in range(lo, hi):
                    u = order[i]
                    srt, m, buf = _edge_keys(u, e_off, e_term, e_cost, e_dst, tgt, CM, W, buf)
                    for k in range(m):
                        keys.append(srt[k])
                    r_off[i - lo + 1] = len(keys)
                    h = _sig_hash(srt, 0, m, final[u] * (L + 1) + blk[i - lo])
                    c = seen[h] if h in seen else np.int64(-1)
                    while c >= 0:
                        j = rep_of[c]
                        if (final[order[lo + j]] == final[u] and blk[j] == blk[i - lo]
                                and _same_run(keys, r_off[j], r_off[j + 1], srt, m)):
                            break
                        c = rep_next[c]
                    if c < 0:
                        c = np.int64(len(rep_of))
                        rep_of.append(np.int64(i - lo))
                        rep_next.append(seen[h] if h in seen else np.int64(-1))
                        seen[h] = c
                    new[i - lo] = c
                nn = len(rep_of)
                blk = new
                if nn == nb:
                    break
                nb = nn
            for i in range(lo, hi):
                cls[order[i]] = n_cls + blk[i - lo]
            n_cls += nb
        for i in range(lo, hi):
            tgt[order[i]] = cls[order[i]]
        hi = lo
    # quotient: one representative per class, the start node's class numbered 0
    perm = np.arange(n_cls)
    c0 = cls[0]
    perm[0] = c0
    perm[c0] = 0
    rep = np.full(n_cls, -1, np.int64)
    for u in range(n):
        tgt[u] = perm[cls[u]]
        if rep[tgt[u]] < 0:
            rep[tgt[u]] = u
    q_pos = np.empty(n_cls, np.int64)
    q_final = np.empty(n_cls, np.int64)
    q_off = np.zeros(n_cls + 1, np.int64)
    cnt = 0
    for q in range(n_cls):
        cnt += e_off[rep[q] + 1] - e_off[rep[q]]
    q_term = np.empty(cnt, np.int64)
    q_dst = np.empty(cnt, np.int64)
    q_cost = np.empty(cnt, np.int64)
    m_q = 0
    for q in range(n_cls):
        u = rep[q]
        q_pos[q] = pos[u]
        q_final[q] = final[u]
        srt, m, buf = _edge_keys(u, e_off, e_term, e_cost, e_dst, tgt, CM, W, buf)
        for k in range(m):
            x = srt[k]
            q_dst[m_q] = x % W
            x //= W
            q_cost[m_q] = x % CM
            q_term[m_q] = x // CM
            m_q += 1
        q_off[q + 1] = m_q
    return True, q_pos, q_final, q_off, q_term[:m_q].copy(), q_dst[:m_q].copy(), q_cost[:m_q].copy()

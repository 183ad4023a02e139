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
        pred_off = np.zeros(NS + 1, np.int64)
        pred = []
        for s in range(NS):
            rs = cfg.rules_by_lhs.get(s, [])
            pred.extend(rs)
            pred_off[s + 1] = len(pred)
        self.pred_off = pred_off
        self.pred = np.array(pred, np.int64)
        self.empty = cfg.is_empty_language


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
def _first_edge(e_term, lo, hi, t):
    while lo < hi:
        mid = (lo + hi) >> 1
        if e_term[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def earley_kernel(T, dr_next, dr_rule, rule_first, rule_lhs, nullable, pred_off, pred,
                  pos, final, e_off, e_term, e_dst, e_cost, limit, max_work):
    """Returns (min cost or -1, work, status) with status 0 = decided, 1 = work budget hit."""
    n = pos.shape[0]
    NDR = dr_next.shape[0]
    NS = nullable.shape[0]
    cap = 1024
    it_o = np.empty(cap, np.int64)
    it_dr = np.empty(cap, np.int64)
    it_j = np.empty(cap, np.int64)
    it_c = np.empty(cap, np.int64)
    it_done = np.zeros(cap, np.bool_)
    n_items = 0
    index = Dict.empty(types.int64, types.int64)
    # waiting lists: (o, B) -> head; nodes in wl_item/wl_next
    w_head = Dict.empty(types.int64, types.int64)
    wcap = 1024
    wl_item = np.empty(wcap, np.int64)
    wl_next = np.empty(wcap, np.int64)
    n_wl = 0
    # completed: (o, B) -> head; nodes (item index)
    c_head = Dict.empty(types.int64, types.int64)
    ccap = 1024
    cl_item = np.empty(ccap, np.int64)
    cl_next = np.empty(ccap, np.int64)
    n_cl = 0
    predicted = Dict.empty(types.int64, types.int64)
    heap = [(np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    GOAL = np.int64(-2)
    goal_cost = np.int64(-1)
    work = 0

    # push helper inlined as a closure-free pattern: (o, dr, j, cost)
    # initial item: (0, rule 0 at dot 0, 0)
    stack_o = [np.int64(0)]
    stack_dr = [np.int64(0)]
    stack_j = [np.int64(0)]
    stack_c = [np.int64(0)]
    stack_o.pop(); stack_dr.pop(); stack_j.pop(); stack_c.pop()
    stack_o.append(np.int64(0)); stack_dr.append(rule_first[0]); stack_j.append(np.int64(0)); stack_c.append(np.int64(0))

    while True:
        # drain pending pushes into the item table / heap
        while len(stack_o) > 0:
            o = stack_o.pop(); dr = stack_dr.pop(); j = stack_j.pop(); c = stack_c.pop()
            if j == GOAL:
                if goal_cost < 0 or c < goal_cost:
                    goal_cost = c
                    heapq.heappush(heap, (c, np.int64(1) << 40, np.int64(-1)))
                continue
            key = (o * NDR + dr) * n + j
            k = index[key] if key in index else np.int64(-1)
            if k >= 0:
                if it_done[k] or it_c[k] <= c:
                    continue
                it_c[k] = c
            else:
                if n_items == cap:
                    cap *= 2
                    a = np.empty(cap, np.int64); a[:n_items] = it_o[:n_items]; it_o = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_dr[:n_items]; it_dr = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_j[:n_items]; it_j = a
                    a = np.empty(cap, np.int64); a[:n_items] = it_c[:n_items]; it_c = a
                    b = np.zeros(cap, np.bool_); b[:n_items] = it_done[:n_items]; it_done = b
                k = n_items
                n_items += 1
                it_o[k] = o; it_dr[k] = dr; it_j[k] = j; it_c[k] = c; it_done[k] = False
                index[key] = k
            heapq.heappush(heap, (c, pos[j], np.int64(k)))
        if len(heap) == 0:
            return np.int64(-1), work, 0
        c, p, k = heapq.heappop(heap)
        if limit >= 0 and c > limit:
            return np.int64(-1), work, 0
        if k < 0:
            return c, work, 0
        if it_done[k] or it_c[k] != c:
            continue
        it_done[k] = True
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
            if n_wl == wcap:
                wcap *= 2
                a = np.empty(wcap, np.int64); a[:n_wl] = wl_item[:n_wl]; wl_item = a
                a = np.empty(wcap, np.int64); a[:n_wl] = wl_next[:n_wl]; wl_next = a
            wl_item[n_wl] = k
            wl_next[n_wl] = w_head[wk] if wk in w_head else np.int64(-1)
            w_head[wk] = n_wl
            n_wl += 1
            if wk not in predicted:
                predicted[wk] = 1
                for pi in range(pred_off[B], pred_off[B + 1]):
                    stack_o.append(j); stack_dr.append(rule_first[pred[pi]]); stack_j.append(j); stack_c.append(np.int64(0))
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
            if n_cl == ccap:
                ccap *= 2
                a = np.empty(ccap, np.int64); a[:n_cl] = cl_item[:n_cl]; cl_item = a
                a = np.empty(ccap, np.int64); a[:n_cl] = cl_next[:n_cl]; cl_next = a
            cl_item[n_cl] = k
            cl_next[n_cl] = c_head[ckey] if ckey in c_head else np.int64(-1)
            c_head[ckey] = n_cl
            n_cl += 1
            h = w_head[ckey] if ckey in w_head else np.int64(-1)
            while h >= 0:
                wk2 = wl_item[h]
                stack_o.append(it_o[wk2]); stack_dr.append(it_dr[wk2] + 1); stack_j.append(j); stack_c.append(it_c[wk2] + c)
                h = wl_next[h]
            if r == 0 and o == 0 and final[j] >= 0:
                stack_o.append(np.int64(0)); stack_dr.append(np.int64(0)); stack_j.append(GOAL); stack_c.append(c + final[j])


def run_fast(ga: GrammarArrays, nfa, limit=None, max_work=None):
    """Min cost to the goal (None if not derivable within ``limit``), work, budget_hit."""
    if ga.empty:
        return None, 0, False
    pos, final, e_off, e_term, e_dst, e_cost = nfa_arrays(nfa)
    c, work, status = earley_kernel(
        np.int64(ga.T), ga.dr_next, ga.dr_rule, ga.rule_first, ga.rule_lhs, ga.nullable, ga.pred_off, ga.pred,
        pos, final, e_off, e_term, e_dst, e_cost,
        np.int64(-1 if limit is None else limit), np.int64(-1 if max_work is None else max_work))
    if status == 1:
        return None, int(work), True
    return (None if c < 0 else int(c)), int(work), False

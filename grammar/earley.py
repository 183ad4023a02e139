"""Earley parsing over a token-boundary NFA, with min-plus costs (Knuth's generalisation of Dijkstra).

Items are ``(o, r, d, j)``: rule ``r`` with the dot before ``rhs[d]``, started at NFA node ``o``,
now at node ``j``. Deduction rules (Earley 1970, over an automaton instead of a string):

* predict   ``(o,A→α·Bβ,j)``           ⊢ ``(j,B→·γ,j)``  cost 0; if B is nullable also
  ``(o,A→αB·β,j)`` (Aycock & Horspool 2002)
* scan      ``(o,A→α·tβ,j)``, edge ``j -t/c-> k``  ⊢ ``(o,A→αt·β,k)``  cost + c
* complete  ``(o,A→α·Bβ,i)``, ``(i,B→γ·,j)``       ⊢ ``(o,A→αB·β,j)``  cost sum

The NFA has cycles (holes), so derivations are run to a fixpoint with a priority queue keyed by
``(cost, position)`` — Knuth (1977): an item popped from the queue has its minimum cost, and
each binary step is applied when the second of its two premises is popped. With all costs 0
(no bounded hole) the order is left to right by pattern position, so every item ending at a
position ``< x`` depends only on the pattern before ``x``: that is what the incremental session
keeps (:meth:`EarleyEngine.truncate`). The search stops as soon as the goal
``(start, $start→S·, final)`` is popped (early exit); the queue is kept so that the next check
can resume. Costs are bytes inside costed holes, so the state space does not depend on the bound.
"""
from __future__ import annotations

import heapq
import time

GOAL = ("goal",)


class Budget(Exception):
    pass


class EarleyEngine:
    def __init__(self, cfg, nfa):
        self.cfg = cfg
        self.nfa = nfa
        T = cfg.n_terminals
        self.T = T
        self.rhs = [r for _, r in cfg.rules]
        self.lhs = [l for l, _ in cfg.rules]
        self.by_lhs = cfg.rules_by_lhs
        self.nullable = cfg.nullable
        self.best = {}        # key -> (cost, back)
        self.done = set()     # finalised keys
        self.waiting = {}     # (o, B) -> list of (key, cost) finalised items at o expecting B
        self.completed = {}   # (o, B) -> dict j -> (cost, key)
        self.predicted = set()
        self.scanners = {}    # node -> list of keys of finalised items expecting a terminal (+ goal candidates)
        self.heap = []
        self.seq = 0
        self.result = None    # (cost, goal back) once found
        self.work = 0
        self.init = nfa.node(0, ())
        if cfg.is_empty_language:
            self.empty = True
        else:
            self.empty = False
            self._push((self.init, 0, 0, self.init), 0, ("init",))

    # -- queue ---------------------------------------------------------------
    def _push(self, key, cost, back):
        b = self.best.get(key)
        if b is not None and b[0] <= cost:
            return
        self.best[key] = (cost, back)
        pos = self.nfa.pos(key[3]) if key is not GOAL else self.nfa.pat.M
        self.seq += 1
        heapq.heappush(self.heap, (cost, pos, self.seq, key))

    def run(self, max_work=None, deadline=None, limit=None):
        """Run to the goal. Returns min cost (int) or None if the goal is not derivable;
        raises Budget when a budget is hit (the state stays resumable). ``limit``: stop once
        the smallest queued cost exceeds it (bounded holes)."""
        if self.empty:
            return None
        if self.result is not None:
            return self.result
        heap = self.heap
        rhs = self.rhs
        T = self.T
        nfa = self.nfa
        while heap:
            if limit is not None and heap[0][0] > limit:
                return None
            cost, pos, _, key = heapq.heappop(heap)
            if key in self.done:
                continue
            if self.best[key][0] != cost:
                continue
            self.done.add(key)
            self.work += 1
            if max_work is not None and self.work > max_work:
                self.done.discard(key)
                heapq.heappush(heap, (cost, pos, 0, key))
                raise Budget("work")
            if deadline is not None and (self.work & 255) == 0 and time.perf_counter() > deadline:
                self.done.discard(key)
                heapq.heappush(heap, (cost, pos, 0, key))
                raise Budget("time")
            if key is GOAL:
                self.result = cost
                return cost
            o, r, d, j = key
            rr = rhs[r]
            if d < len(rr):
                B = rr[d]
                if B < T:
                    self.scanners.setdefault(j, []).append(key)
                    self._scan(key, cost)
                else:
                    wk = (j, B)
                    self.waiting.setdefault(wk, []).append((key, cost))
                    if wk not in self.predicted:
                        self.predicted.add(wk)
                        for r2 in self.by_lhs.get(B, ()):
                            self._push((j, r2, 0, j), 0, ("pred",))
                    if B in self.nullable:
                        self._push((o, r, d + 1, j), cost, ("null", key))
                    for j2, (c2, ck) in list(self.completed.get(wk, {}).items()):
                        self._push((o, r, d + 1, j2), cost + c2, ("comp", key, ck))
            else:
                A = self.lhs[r]
                ck = (o, A)
                comp = self.completed.setdefault(ck, {})
                if j not in comp or comp[j][0] > cost:
                    comp[j] = (cost, key)
                for pk, pc in self.waiting.get(ck, ()):
                    po, pr, pd, _ = pk
                    self._push((po, pr, pd + 1, j), pc + cost, ("comp", pk, key))
                if r == 0 and o == self.init:
                    self.scanners.setdefault(j, []).append(key)
                    self._goal(key, cost)
        return None

    def _scan(self, key, cost):
        o, r, d, j = key
        by_term, _, _, _ = self.nfa.edges(j)
        es = by_term.get(self.rhs[r][d])
        if es:
            for k, c, w in es:
                self._push((o, r, d + 1, k), cost + c, ("scan", key, w))

    def _goal(self, key, cost):
        _, final, _, fw = self.nfa.edges(key[3])
        if final is not None:
            self._push(GOAL, cost + final, ("final", key, fw))

    # -- incremental ------------------------------------------------------------
    def truncate(self, new_pattern, x):
        """Forget everything at pattern positions >= x and re-seed scans that cross x."""
        nfa = self.nfa
        pos_of = {i: p for i, (p, _) in nfa.nodes.items()}
        keep = lambda n: n in pos_of and pos_of[n] < x  # noqa: E731
        changed = nfa.truncate(new_pattern, x)
        self.result = None
        self.best = {k: v for k, v in self.best.items() if k is not GOAL and keep(k[3])}
        self.done = {k for k in self.done if k is not GOAL and keep(k[3])}
        self.waiting = {k: v for k, v in self.waiting.items() if keep(k[0])}
        comp = {}
        for k, v in self.completed.items():
            if keep(k[0]):
                v2 = {j: cv for j, cv in v.items() if keep(j)}
                if v2:
                    comp[k] = v2
        self.completed = comp
        self.predicted = {k for k in self.predicted if keep(k[0])}
        self.scanners = {n: v for n, v in self.scanners.items() if keep(n)}
        self.heap = [h for h in self.heap if h[3] is not GOAL and keep(h[3][3])]
        heapq.heapify(self.heap)
        for n in changed:
            for key in self.scanners.get(n, ()):
                cost = self.best[key][0]
                o, r, d, j = key
                if d < len(self.rhs[r]):
                    self._scan(key, cost)
                else:
                    self._goal(key, cost)
        return len(changed)

    # -- witness --------------------------------------------------------------------
    def witness(self):
        """Hole fillings of the best derivation: list of (hole_index, byte) in order."""
        assert self.result is not None
        out = []
        stack = [GOAL]
        # iterative post-order over back pointers; emits witness pieces in left-to-right order
        seq = []
        while stack:
            item = stack.pop()
            if isinstance(item, tuple) and item and item[0] == "W":
                seq.append(item[1])
                continue
            back = self.best[item][1]
            kind = back[0]
            if kind in ("init", "pred"):
                continue
            if kind == "final":
                stack.append(("W", back[2]))
                stack.append(back[1])
            elif kind == "scan":
                stack.append(("W", back[2]))
                stack.append(back[1])
            elif kind == "null":
                stack.append(back[1])
            elif kind == "comp":
                stack.append(back[2])
                stack.append(back[1])
        for w in seq:
            if w:
                out.extend(w)
        return out

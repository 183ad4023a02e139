"""Token masks for autoregressive decoding: an incremental matcher over a vocabulary.

State of a :class:`Matcher` = a small set of *branches* ``(c, N)``: ``c`` a lexer configuration
of :class:`~memgram.grammar.completion.ConfigTables` (the union-DFA state of the lexeme being read
plus the maximal-munch lookahead constraint of the earlier lexemes) and ``N`` an Earley chart node
(persistent: items point to the nodes of their origins, so branches and rollbacks share the chart).
Several branches exist only while the segmentation of the prefix into lexemes is still open.

Mask of one branch (``A`` = the terminals the parser accepts next, plus "ignored lexeme"):

* ``reach[c]`` = the terminals the lexeme in progress can still end as (per grammar, fixpoint over
  the configuration automaton). A token whose bytes stay inside the current lexeme is allowed iff
  ``reach[c'] ∩ A ≠ ∅`` for the configuration ``c'`` after its bytes: this depends only on
  ``(c, A)``, so one walk of the vocabulary byte trie (numba, :func:`_walk`) per ``(c, A)`` is
  cached per (grammar, tokenizer).
* Tokens that end a lexeme inside their bytes are found by the same walk as *events* (trie node,
  accepting configuration). The parser is stepped once per distinct configuration (= label set),
  and the subtrees of the event nodes are walked from the boundary configuration with the new
  ``A``; those walks are cached by the chain of keys, so the parser is touched only for the few
  label sets that occur inside tokens.
* A walk depends on ``A`` only through ``ok`` of each listed token's last configuration and ``useful`` of each
  event's: one walk with every configuration allowed, listing (token, last configuration) and all events, serves every
  ``A`` by filtering (:meth:`GrammarIndex.precompute_roots`: made for every configuration with the index, and below
  event nodes when first needed, where the list stays short); a piece under one ``A`` is filtered, not walked.
* Composition: where every walk a mask needs is kept for every acceptable set (or, from the root, as the piece of
  this set), the mask is made by one numba call (:func:`_compose`) from flat tables of those walks and of the parser's
  steps, instead of by :meth:`GrammarIndex.collect`'s recursion of Python calls; it returns to Python only for what is
  not in the tables yet (a parser step not made yet, made by one numba call, :meth:`GrammarIndex.step`; a walk below an
  event first met). Walks below the
  root walks' events are prepared with the index (:meth:`GrammarIndex.precompute_walks`). ``collect`` stays the
  fallback (walks too long to keep, as most of C++'s) and the reference (``GrammarIndex.FAST = 0``).
* Finished masks are kept per index by matcher state (the branches; item sets are shared, so a later sequence
  of the same grammar that reaches a state holds the same nodes): a served schema's second request is a copy.
* Slices (:meth:`GrammarIndex.slice_for`): where the fate of a token made of "string content"
  bytes depends only on its length, those tokens are one precomputed block per length cut and
  only the other tokens are walked.

Semantics (see tests/grammar/test_matcher.py, which checks it against ``Grammar.completable``):
a token is allowed iff ``prefix + token`` can still end as a sequence of lexemes the parser
accepts, with the last lexeme completable to an acceptable terminal; EOS iff ``prefix`` is a full
word. This equals ``completable(prefix + token + HOLE)`` whenever any grammatical terminal sequence
can be written out as bytes that lex back to it (true for grammars that ignore whitespace between
lexemes, such as the shipped JSON and C++ grammars and JSON-schema grammars).

>>> from memgram.grammar import Grammar
>>> from memgram.grammar.vocab import TokenTable
>>> g = Grammar.from_lark('start: "a"+ "b"')
>>> m = compile_matcher(g, TokenTable([b"a", b"ab", b"b", b"ba", b""], special=[0, 0, 0, 0, 1], eos_ids=[4]))
>>> TokenTable.mask_to_ids(m.mask()).tolist()
[0, 1]
>>> m.advance(1), m.is_accepting(), TokenTable.mask_to_ids(m.mask()).tolist()
(True, True, [4])
"""
from __future__ import annotations

import weakref

import numba as nb
import numpy as np

from .api import without_gc
from .chart_nb import ChartParser, _hslot, _scan_build, find_row, grown, rehash_rows
from .vocab import TokenTable

__all__ = ["compile_matcher", "Matcher", "GrammarIndex", "ReferenceMatcher"]


# ----------------------------------------------------------------------------- Earley chart nodes
class PNode:
    """One Earley item set, persistent. ``kern[sym]`` lists the items ``(rule, dot, origin)`` that came from earlier
    nodes (scanned or completed), waiting for ``sym`` (origin None: this node, only at the root); ``pred[sym]`` the
    items ``(rule, dot)`` predicted here (origin: this node), shared by all nodes that predict the same nonterminals;
    ``akey`` the acceptable terminals (+ the "ignored" bit) as an int."""

    __slots__ = ("kern", "pred", "akey", "accepts", "memo", "nid", "arow", "__weakref__")


class Parser:
    """Earley recognizer over terminal label sets (Aycock–Horspool for nullable symbols).

    The predicted part of an item set depends only on the set of nonterminals predicted from its other items, so it
    is built once per such set (:meth:`_prediction`) and shared: building a node costs its scanned and completed items
    only. Likewise what completing a nonterminal at a node gives through its predicted part (:meth:`_completion`)."""

    _NO_PREDICTION = ({}, 0)

    def __init__(self, cfg, labels):
        self.T = cfg.n_terminals
        self.lhs = [l for l, _ in cfg.rules]
        self.rhs = [tuple(r) for _, r in cfg.rules]
        self.by_lhs = {k: tuple(v) for k, v in cfg.rules_by_lhs.items()}
        self.nullable = frozenset(cfg.nullable)
        self.labels = [tuple(x) for x in labels]
        self.ign_bit = 1 << self.T
        self._predictions: dict = {}
        self._completions: dict = {}
        self.n_nodes = 0
        self.root = self._build([(0, 0, None)])

    def _prediction(self, P: frozenset):
        """(items ``(rule, dot)`` by next symbol, terminal bits) predicted for the nonterminals ``P`` (closed under
        prediction and nullable advance; origin: the node that predicts them)."""
        got = self._predictions.get(P)
        if got is not None:
            return got
        T, rhs_of, by_lhs, nullable = self.T, self.rhs, self.by_lhs, self.nullable
        by: dict = {}
        seen = set()
        predicted = set(P)
        work = [(r, 0) for s in P for r in by_lhs.get(s, ())]
        while work:
            it = work.pop()
            if it in seen:
                continue
            seen.add(it)
            r, d = it
            rhs = rhs_of[r]
            if d == len(rhs):
                continue  # ε-completion at the predicting node: covered by the nullable advance
            s = rhs[d]
            by.setdefault(s, []).append(it)
            if s >= T:
                if s not in predicted:
                    predicted.add(s)
                    work.extend((r2, 0) for r2 in by_lhs.get(s, ()))
                if s in nullable:
                    work.append((r, d + 1))
        ak = 0
        for s in by:
            if s < T:
                ak |= 1 << s
        got = self._predictions[P] = ({s: tuple(v) for s, v in by.items()}, ak)
        return got

    def _completion(self, pred, A):
        """Completing ``A`` at a node whose predicted part is ``pred``, through that part: (the items ``(rule, dot)`` it
        advances there that are not complete, the nonterminals completed there (``A`` first), whether the start rule
        completed). Cached per (predicted part, A): a cascade through unit rules, such as C++'s ~15 expression precedence levels, is followed once, not at
        every node that completes an expression."""
        key = (id(pred), A)        # predicted parts live as long as the parser (``_predictions``)
        got = self._completions.get(key)
        if got is not None:
            return got
        rhs_of, lhs_of = self.rhs, self.lhs
        done, seen, items, seen_it, start = [A], {A}, [], set(), False
        k = 0
        while k < len(done):
            B = done[k]
            k += 1
            for r, d in pred.get(B, ()):
                it = (r, d + 1)
                if it in seen_it:
                    continue
                seen_it.add(it)
                if d + 1 < len(rhs_of[r]):
                    items.append(it)
                    continue
                start = start or r == 0
                L = lhs_of[r]
                if L not in seen:
                    seen.add(L)
                    done.append(L)
        got = self._completions[key] = (tuple(items), tuple(done), start)
        return got

    def _build(self, kernel):
        node = PNode()
        kern: dict = {}
        items = set()
        T, lhs_of, rhs_of, nullable = self.T, self.lhs, self.rhs, self.nullable
        work = list(kernel)
        P = set()
        completed = set()      # (origin node, nonterminal) completed here: what follows depends on nothing else
        accepts = False
        while work:
            it = work.pop()
            if it in items:
                continue
            items.add(it)
            r, d, o = it
            rhs = rhs_of[r]
            if d == len(rhs):
                if r == 0:
                    accepts = True
                if o is None:
                    continue  # ε-completion at this node: covered by the nullable advance
                lhs = lhs_of[r]
                if (o, lhs) in completed:
                    continue
                adv, syms, start = self._completion(o.pred, lhs)
                accepts = accepts or start
                for r2, d2 in adv:
                    work.append((r2, d2, o))
                kern_o = o.kern
                for B in syms:
                    completed.add((o, B))
                    for r2, d2, o2 in kern_o.get(B, ()):
                        work.append((r2, d2 + 1, o if o2 is None else o2))
                continue
            s = rhs[d]
            lst = kern.get(s)
            if lst is None:
                kern[s] = [it]
            else:
                lst.append(it)
            if s >= T:
                P.add(s)
                if s in nullable:
                    work.append((r, d + 1, o))
        node.kern = kern
        node.pred, ak = self._prediction(frozenset(P)) if P else self._NO_PREDICTION
        node.accepts = accepts
        ak |= self.ign_bit
        for s in kern:
            if s < T:
                ak |= 1 << s
        node.akey = ak
        node.memo = {}
        node.nid = self.n_nodes
        node.arow = -1
        self.n_nodes += 1
        return node

    def scan(self, node, q):
        """The node after a lexeme with label set ``labels[q]``; None if no label fits."""
        memo = node.memo
        if q in memo:
            return memo[q]
        kernel = []
        kern, pred = node.kern, node.pred
        for t in self.labels[q]:
            for r, d, o in kern.get(t, ()):
                kernel.append((r, d + 1, node if o is None else o))
            for r, d in pred.get(t, ()):
                kernel.append((r, d + 1, node))
        out = self._build(kernel) if kernel else None
        memo[q] = out
        return out


# ----------------------------------------------------------------------------- numba trie walk
@nb.njit(cache=True, nogil=True, inline="always")
def _emit(t, ids, mask, n):
    """List token t in ``ids[n]`` while they fit (returns n + 1); once they do not, all of them and every later
    token go to ``mask`` (returns -1), or, with an empty ``mask``, -2 (the caller stops)."""
    cap = ids.shape[0]
    if n >= 0 and n < cap:
        ids[n] = t
        return n + 1
    if mask.shape[0] == 0:  # no mask: the walk stops here
        return -2
    if n == cap:            # full: from now on a mask, with the tokens listed so far
        for x in range(cap):
            u = ids[x]
            mask[u >> 5] |= np.uint32(1) << np.uint32(u & 31)
    mask[t >> 5] |= np.uint32(1) << np.uint32(t & 31)
    return -1


@nb.njit(cache=True, nogil=True)
def _select(tok, cfg, lo, hi, ok, ids, mask):
    """The tokens ``tok[j]``, lo <= j < hi, whose configuration ``cfg[j]`` is ``ok``, listed as :func:`_walk` lists
    them (in ``ids``, or in ``mask`` when they do not fit); returns their number or -1."""
    n = 0
    for j in range(lo, hi):
        if ok[cfg[j]]:
            n = _emit(tok[j], ids, mask, n)
    return n


@nb.njit(cache=True, nogil=True, inline="always")
def _walk_range(lo, hi, trans, bcls, ok, useful, tbyte, tdepth, tend, tok_off, tok_ids, stk, ids, cfgs, mask, ev_node,
                ev_cfg, n_ev, n_ids):
    """The walk of :func:`_walk` over the preorder node range [lo, hi) (``stk`` holds the configuration above it)."""
    cap = ids.shape[0]
    i = lo
    while i < hi:
        d = tdepth[i]
        c = trans[stk[d - 1], bcls[tbyte[i]]]
        if c < 0 or not ok[c]:
            i = tend[i]
            continue
        stk[d] = c
        for j in range(tok_off[i], tok_off[i + 1]):
            if cfgs.shape[0] and 0 <= n_ids < cap:
                cfgs[n_ids] = c
            n_ids = _emit(tok_ids[j], ids, mask, n_ids)
            if n_ids == -2:
                return n_ev, n_ids
        if useful[c] and tend[i] > i + 1:
            ev_node[n_ev] = i
            ev_cfg[n_ev] = c
            n_ev += 1
        i += 1
    return n_ev, n_ids


@nb.njit(cache=True, nogil=True)
def _walk(starts, start_cfg, trans, bcls, ok, useful, tbyte, tdepth, tend, tok_off, tok_ids, root_nodes, root_bytes,
          stk, ids, cfgs, mask, ev_node, ev_cfg):
    """Walk the trie subtrees below ``starts`` (-1 = root) from configuration ``start_cfg``.

    Lists in ``ids`` the tokens whose last configuration ``c`` has ``ok[c]`` (a token below two nested starts
    twice), and in ``cfgs`` (unless empty) that configuration; when they do not fit, marks all of them in ``mask``
    (uint32 words, zero on entry) instead, or stops (returns -2 tokens) when ``mask`` is empty. Records
    (node, c) in ``ev_*`` where ``useful[c]`` (the lexeme may end there and the node has children). Returns
    (number of events, number of ids or -1 when they went to ``mask``). From the root, the first bytes are read
    from the compact ``root_nodes``/``root_bytes`` (the depth-1 nodes): a walk whose first byte is refused for most
    of the ~235 of them skips those without touching the trie arrays (median root walk of the cold JSON benchmark
    12.8 / 11.9 -> 10.6 / 11.0 µs, alternated)."""
    n_ev = 0
    n_ids = 0
    for s in starts:
        stk[0 if s < 0 else tdepth[s]] = start_cfg
        if s >= 0:
            n_ev, n_ids = _walk_range(s + 1, tend[s], trans, bcls, ok, useful, tbyte, tdepth, tend, tok_off, tok_ids,
                                      stk, ids, cfgs, mask, ev_node, ev_cfg, n_ev, n_ids)
            if n_ids == -2:
                return n_ev, n_ids
            continue
        for r in range(root_nodes.shape[0]):
            c = trans[start_cfg, bcls[root_bytes[r]]]
            if c < 0 or not ok[c]:
                continue
            i = root_nodes[r]
            n_ev, n_ids = _walk_range(i, tend[i], trans, bcls, ok, useful, tbyte, tdepth, tend, tok_off, tok_ids,
                                      stk, ids, cfgs, mask, ev_node, ev_cfg, n_ev, n_ids)
            if n_ids == -2:
                break
    return n_ev, n_ids


@nb.njit(cache=True, nogil=True)
def _slice_bytes(c, trans, end, bcls, min_bytes, wide, x, cls):
    """Fill ``x`` (bool [256]) with the ASCII bytes that lead configuration c to a wide configuration
    that cannot end a lexeme (wide: at least ``min_bytes`` such bytes of its own, memoised in ``wide``)
    and ``cls`` with their byte classes; True when there are at least ``min_bytes`` of them."""
    x[:] = False
    cls[:] = False
    n_valid = 0
    for b in range(128):
        if trans[c, bcls[b]] >= 0:
            n_valid += 1
    if n_valid < min_bytes:
        return False
    n = 0
    for b in range(128):
        t = trans[c, bcls[b]]
        if t < 0 or end[t] >= 0:
            continue
        if wide[t] == 0:
            m = 0
            for b2 in range(128):
                t2 = trans[t, bcls[b2]]
                if t2 >= 0 and end[t2] < 0:
                    m += 1
            wide[t] = 1 if m >= min_bytes else 2
        if wide[t] == 1:
            x[b] = True
            cls[bcls[b]] = True
            n += 1
    return n >= min_bytes


@nb.njit(cache=True, nogil=True)
def _closed_bytes(c, trans, end, ok, bcls, x, mark, queue, min_bytes):
    """Fill ``x`` (bool [256]) with the largest set X of ASCII bytes such that from every configuration
    X-strings lead c to, every X byte leads to a configuration that is ``ok``, alive and cannot end a
    lexeme (a byte failing anywhere is dropped and the search restarts). Returns |X|, or a smaller count
    as soon as fewer than ``min_bytes`` remain (then ``x`` is not meaningful). ``mark`` (all -1) is
    restored; ``queue`` holds at least one entry per configuration."""
    x[:] = False
    m = 0
    for b in range(128):
        t = trans[c, bcls[b]]
        if t >= 0 and end[t] < 0 and ok[t]:
            x[b] = True
            m += 1
    if m < min_bytes:
        return m
    while True:
        removed = False
        queue[0] = c
        mark[c] = 1
        n = 1
        head = 0
        while head < n:
            s = queue[head]
            head += 1
            for b in range(128):
                if not x[b]:
                    continue
                t = trans[s, bcls[b]]
                if t < 0 or end[t] >= 0 or not ok[t]:
                    x[b] = False
                    removed = True
                    continue
                if mark[t] != 1:
                    mark[t] = 1
                    queue[n] = t
                    n += 1
        for i in range(n):
            mark[queue[i]] = -1
        if not removed:
            break
    m = 0
    for b in range(128):
        if x[b]:
            m += 1
    return m


@nb.njit(cache=True, nogil=True)
def _levels(c, trans, end, xcls, lmax, mark, off, dead, states):
    """Level sets of the X-strings from configuration c (X given by its byte classes ``xcls``):
    level L (1..) = ``states[off[L]:off[L+1]]``, ``dead[L]`` when some X-string of L bytes dies.
    Stops when a level repeats the previous one (then all later levels equal it). Returns the last
    level stored, -1 if some level holds a configuration that can end a lexeme, -2 if ``states`` is
    too small. ``mark`` (all -1) is restored."""
    off[0] = 0
    off[1] = 1
    states[0] = c
    dead[0] = False
    res = lmax
    n = 1
    for L in range(1, lmax + 1):
        lo = off[L - 1]
        hi = off[L]
        dead[L] = dead[L - 1]
        for i in range(lo, hi):
            s = states[i]
            for k in xcls:
                t = trans[s, k]
                if t < 0:
                    dead[L] = True
                    continue
                if end[t] >= 0:
                    res = -1
                    break
                if mark[t] != L:
                    if n >= states.shape[0]:
                        res = -2
                        break
                    mark[t] = L
                    states[n] = t
                    n += 1
            if res < 0:
                break
        off[L + 1] = n
        if res < 0:
            break
        # same set as the previous level (marks of level L-1 were overwritten where shared)
        same = (n - hi) == (hi - lo) and dead[L] == dead[L - 1]
        if same:
            for i in range(lo, hi):
                if mark[states[i]] != L:
                    same = False
                    break
        if same:
            res = L
            break
    for i in range(n):
        mark[states[i]] = -1
    return res


@nb.njit(cache=True, nogil=True)
def _level_cut(ok, off, states, dead, lmax):
    """k such that the X-strings of 1..k bytes are all allowed (``ok`` on their whole level, none dead)
    and those of k+1..lmax bytes all refused; -1 when some level is mixed (a walk decides)."""
    last = off.shape[0] - 2
    k = 0
    refusing = False
    for L in range(1, lmax + 1):
        Lc = min(L, last)
        n_ok = 0
        for i in range(off[Lc], off[Lc + 1]):
            if ok[states[i]]:
                n_ok += 1
        n_all = off[Lc + 1] - off[Lc]
        if n_ok == n_all and not dead[Lc]:
            if refusing:
                return -1
            k = L
        elif n_ok == 0:
            refusing = True
        else:
            return -1
        if Lc == last and L > last:
            # all later levels equal this one
            return lmax if not refusing else k
    return k


@nb.njit(cache=True, nogil=True)
def _group_events(ev_cfg, ev_node, n, bounds):
    """Sort the first n events by configuration (stable) in place; group g is ``bounds[g]:bounds[g+1]``.
    Returns the number of groups. A walk lists its events in trie order, mostly of one configuration (the end of a
    string, bench/mask_latency.py: 93 % already sorted, median 19 events, p90 348): those are not moved, a few
    others are sorted by insertion, only many unsorted ones by argsort."""
    ordered = True
    for i in range(1, n):
        if ev_cfg[i] < ev_cfg[i - 1]:
            ordered = False
            break
    if not ordered:
        if n <= 32:
            for i in range(1, n):
                c = ev_cfg[i]
                v = ev_node[i]
                j = i - 1
                while j >= 0 and ev_cfg[j] > c:
                    ev_cfg[j + 1] = ev_cfg[j]
                    ev_node[j + 1] = ev_node[j]
                    j -= 1
                ev_cfg[j + 1] = c
                ev_node[j + 1] = v
        else:
            order = np.argsort(ev_cfg[:n], kind="mergesort")
            cs = ev_cfg[:n][order]
            ns = ev_node[:n][order]
            ev_cfg[:n] = cs
            ev_node[:n] = ns
    n_g = 0
    for i in range(n):
        if i == 0 or ev_cfg[i] != ev_cfg[i - 1]:
            bounds[n_g] = i
            n_g += 1
    bounds[n_g] = n
    return n_g


@nb.njit(cache=True, nogil=True)
def _ok_useful(reach, own, end, words, ok, useful):
    """Fill (ok, useful): ok[c] = reach[c] meets the acceptable set ``words``; useful[c] = c ends a lexeme labelled
    with one of them."""
    for c in range(reach.shape[0]):
        a = False
        b = False
        for w in range(words.shape[0]):
            if reach[c, w] & words[w]:
                a = True
            if own[c, w] & words[w]:
                b = True
        ok[c] = a
        useful[c] = b and end[c] >= 0


@nb.njit(cache=True, nogil=True)
def _ak_row(words, ak_rows, ak_h, ak_n, oks, usefuls, reach, own, end):
    """Row of the acceptable set ``words`` (bit words): found by the hash ``ak_h``, or made (its rows of ``oks`` /
    ``usefuls`` filled by :func:`_ok_useful`); -1 when the tables are full."""
    i, r = find_row(ak_h, ak_rows, words)
    if r >= 0:
        return r
    r = ak_n[0]
    if r >= ak_rows.shape[0] or 2 * (r + 1) > ak_h.shape[0]:
        return -1
    ak_rows[r, :] = words
    _ok_useful(reach, own, end, words, oks[r], usefuls[r])
    ak_h[i] = r
    ak_n[0] = r + 1
    return r


_SHORT_STEPS, _SHORT_NODES, _SHORT_ROWS = 101, 102, 103     # step()'s resources (the parser's are below 100)


@nb.njit(cache=True, nogil=True, inline="always")
def _popcount64(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@nb.njit(cache=True, nogil=True, inline="always")
def _bits_into(x, base, width, buf, k):
    """Append to ``buf[k:]`` the positions ``base + b`` below ``width`` of the set bits b of ``x``; returns k."""
    while x != 0:
        low = x & (~x + np.uint64(1))           # the lowest bit left
        i = base + _popcount64(low - np.uint64(1))
        if i < width:
            buf[k] = i
            k += 1
        x ^= low
    return k


@nb.njit(cache=True, nogil=True)
def _pack_mask(u, width, buf):
    """How to keep a finished mask (uint32 words, no bit at or past ``width``) compactly: (0, n) when its n set ids
    fit ``buf`` (written there), (1, n) when its n unset ids below ``width`` do, else (2, 0): a copy. Reads the
    words in pairs (uint64; little-endian, so bit b of pair w is token 64 w + b)."""
    n32 = u.shape[0]
    n64 = n32 // 2
    v = u[:2 * n64].view(np.uint64)
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    n_set = 0
    for w in range(n64):
        x = v[w]
        if x != 0:
            n_set += 64 if x == full else _popcount64(x)
    if n32 > 2 * n64:
        n_set += _popcount64(np.uint64(u[n32 - 1]))
    cap = buf.shape[0]
    if n_set > cap and width - n_set > cap:
        return 2, 0
    kind = 0 if n_set <= cap else 1
    flip = np.uint64(0) if kind == 0 else full
    k = 0
    for w in range(n64):
        k = _bits_into(v[w] ^ flip, w * 64, width, buf, k)          # (most pairs: 0 here)
    if n32 > 2 * n64:
        k = _bits_into(np.uint64(u[n32 - 1]) ^ (flip & np.uint64(0xFFFFFFFF)), (n32 - 1) * 32, width, buf, k)
    return kind, k


@nb.njit(cache=True, nogil=True)
def _unpack_mask(u, kind, data, width):
    """Write into ``u`` the mask kept by :func:`_pack_mask` as (kind, data)."""
    if kind == 2:
        u[:] = data
        return
    fill = np.uint32(0) if kind == 0 else np.uint32(0xFFFFFFFF)
    u[:] = fill
    if kind == 1:
        for i in range(width, u.shape[0] * 32):
            u[i >> 5] &= ~(np.uint32(1) << np.uint32(i & 31))
    for j in range(data.shape[0]):
        i = data[j]
        if kind == 0:
            u[i >> 5] |= np.uint32(1) << np.uint32(i & 31)
        else:
            u[i >> 5] &= ~(np.uint32(1) << np.uint32(i & 31))


@nb.njit(cache=True, nogil=True)
def _or_into(dst, src):
    for i in range(dst.shape[0]):
        dst[i] |= src[i]


@nb.njit(cache=True, nogil=True)
def _walk_roots(configs, trans, bcls, every, ends, tbyte, tdepth, tend, tok_off, tok_ids, root_nodes, root_bytes, stk,
                no_mask, ev_node, ev_cfg, out_tok, out_cfg, out_ev_node, out_ev_cfg, pos, max_tokens, max_events, span):
    """Root walks of ``configs`` on one trie with every configuration ``every`` allowed and ``ends`` useful, appended
    to the flat ``out_*`` from ``pos`` = (tokens, events) on (updated): ``span[i]`` = (first token, end, first event,
    end) of ``configs[i]``, or -1 where it lists more than ``max_tokens`` tokens or ``max_events`` events or the
    outputs are full."""
    starts = np.full(1, -1, np.int64)
    p_tok = pos[0]
    p_ev = pos[1]
    for i in range(configs.shape[0]):
        span[i, :] = -1
        cap = min(max_tokens, out_tok.shape[0] - p_tok)
        n_ev, k = _walk(starts, configs[i], trans, bcls, every, ends, tbyte, tdepth, tend, tok_off, tok_ids,
                        root_nodes, root_bytes, stk, out_tok[p_tok:p_tok + cap], out_cfg[p_tok:p_tok + cap], no_mask,
                        ev_node, ev_cfg)
        if k < 0:
            continue
        if n_ev > max_events or n_ev > out_ev_node.shape[0] - p_ev:
            continue
        out_ev_node[p_ev:p_ev + n_ev] = ev_node[:n_ev]
        out_ev_cfg[p_ev:p_ev + n_ev] = ev_cfg[:n_ev]
        span[i, 0] = p_tok
        span[i, 1] = p_tok + k
        span[i, 2] = p_ev
        span[i, 3] = p_ev + n_ev
        p_tok += k
        p_ev += n_ev
    pos[0] = p_tok
    pos[1] = p_ev


@nb.njit(cache=True, nogil=True)
def _or_piece(dst, base, ids):
    """OR a piece (a shared mask, or an empty array for none, plus token ids) into ``dst``."""
    for i in range(base.shape[0]):
        dst[i] |= base[i]
    for j in range(ids.shape[0]):
        t = ids[j]
        dst[t >> 5] |= np.uint32(1) << np.uint32(t & 31)


# ----------------------------------------------------------------------------- composed masks in one call
# The parser's transitions as an open-addressing table: key nid * n_labels + q -> the node after the lexeme (its nid),
# -2 where no label fits (dead); keys -1 = empty. The capacity is a power of two, at most half full.
@nb.njit(cache=True, nogil=True)
def _mh_rehash(old_keys, old_vals, keys, vals):
    for i in range(old_keys.shape[0]):
        if old_keys[i] != -1:
            j = _hslot(keys, old_keys[i])
            keys[j] = old_keys[i]
            vals[j] = old_vals[i]


@nb.njit(cache=True, nogil=True)
def _step(nid, q, n_labels, mh_keys, mh_vals, mh_n, node_arow, ak_rows, ak_h, ak_n, oks, usefuls, reach, own, end,
          no_kernel, T, dr_next, dr_lhs, dr_start, nullable, bl_off, bl_dr, lab_has, nk_off, k_dr, k_org, n_pred, n_acc,
          n_ak, n_h, nh, pr_off, pi_dr, pr_key, pr_ak, ph, cnt, wk, ih, ih_used, dl, mark_nt, mark_dr, pstk, pbits, fail):
    """The parser's step (nid, q) from the table, or made: the item set built (:func:`_scan_build`), its acceptable
    row found or made, the step entered. -1: an array ran short (``fail[0]``; checked before anything is kept)."""
    key = nid * n_labels + q
    i = _hslot(mh_keys, key)
    if mh_keys[i] == key:
        return mh_vals[i]
    if 2 * (mh_n[0] + 1) > mh_keys.shape[0]:
        fail[0] = _SHORT_STEPS
        return -1
    if cnt[0] + 1 > node_arow.shape[0]:
        fail[0] = _SHORT_NODES
        return -1
    if ak_n[0] + 1 > ak_rows.shape[0] or 2 * (ak_n[0] + 1) > ak_h.shape[0]:
        fail[0] = _SHORT_ROWS
        return -1
    n2 = _scan_build(nid, q, no_kernel, no_kernel, T, dr_next, dr_lhs, dr_start, nullable, bl_off, bl_dr, lab_has,
                     nk_off, k_dr, k_org, n_pred, n_acc, n_ak, n_h, nh, pr_off, pi_dr, pr_key, pr_ak, ph, cnt, wk, ih,
                     ih_used, dl, mark_nt, mark_dr, pstk, pbits, fail)
    if n2 == -1:
        return -1
    if n2 >= 0:
        node_arow[n2] = _ak_row(n_ak[n2], ak_rows, ak_h, ak_n, oks, usefuls, reach, own, end)
    mh_keys[i] = key
    mh_vals[i] = n2
    mh_n[0] += 1
    return n2


@nb.njit(cache=True, nogil=True)
def _compose(u, roots, n_resume, node_arow, oks, usefuls, lab, mh_keys, mh_vals, n_labels, wt, pool, xpool, grp, stk,
             need):
    """OR into ``u`` the tokens of the walks ``roots`` (rows (walk, node)) and, recursively, of the walks below their
    events, as :meth:`GrammarIndex.collect` does, but all in one call from the tables of walks kept for every
    acceptable set: walk w = ``wt[w]`` (state, first token, end, first group, end, which pool) over ``pool`` or
    ``xpool`` (token, last configuration) and ``grp`` (event configuration, walk below it). State 1: ready; anything
    else stops the call (returns False) with ``need`` = (state, walk, -, stack size) -- 2: Python prepares the walk,
    0: no kept walk, the caller computes the mask another way -- or (3, node, label, stack size) when the parser's step is not in the
    table yet. The work left is on ``stk`` (rows (walk, node, next group or -1 before its tokens)): the call after
    Python filled in what was needed resumes it (``n_resume`` = that stack size; 0: start from ``roots``)."""
    n_st = n_resume
    if n_resume == 0:
        for i in range(roots.shape[0]):
            stk[n_st, 0] = roots[i, 0]
            stk[n_st, 1] = roots[i, 1]
            stk[n_st, 2] = -1
            n_st += 1
    while n_st > 0:
        n_st -= 1
        w = stk[n_st, 0]
        nd = stk[n_st, 1]
        g0 = stk[n_st, 2]
        if wt[w, 0] != 1:
            need[0] = wt[w, 0]
            need[1] = w
            need[3] = n_st + 1
            return False
        a = node_arow[nd]
        if g0 < 0:
            p = pool if wt[w, 5] == 0 else xpool
            for j in range(wt[w, 1], wt[w, 2]):
                cf = p[1, j]
                if cf < 0 or oks[a, cf]:        # -1: a walk under one acceptable set (see _fast_root)
                    t = p[0, j]
                    u[t >> 5] |= np.uint32(1) << np.uint32(t & 31)
            g0 = wt[w, 3]
        for g in range(g0, wt[w, 4]):
            ce = grp[0, g]
            if not usefuls[a, ce]:
                continue
            q = lab[ce]
            n2 = nd
            if q != -2:
                i = _hslot(mh_keys, nd * n_labels + q)
                if mh_keys[i] == -1:
                    stk[n_st, 2] = g           # this walk resumes at this group
                    need[0] = 3
                    need[1] = nd
                    need[2] = q
                    need[3] = n_st + 1
                    return False
                n2 = mh_vals[i]
                if n2 < 0:
                    continue
            if n_st + 2 > stk.shape[0]:
                need[0] = 0
                need[1] = -1
                return False
            # the rest of this walk's groups after the walk below (order does not matter: all are ORed)
            stk[n_st, 0] = w
            stk[n_st, 1] = nd
            stk[n_st, 2] = g + 1
            stk[n_st + 1, 0] = grp[1, g]
            stk[n_st + 1, 1] = n2
            stk[n_st + 1, 2] = -1
            n_st += 2
            break
    return True


# ----------------------------------------------------------------------------- per (grammar, tokenizer)
class GrammarIndex:
    """Everything computed once per (grammar, token table): configuration tables, ``reach``,
    the parser, and the caches of trie walks (shared by all matchers of this pair).

    Cached walks ("pieces") are kept compact: the walked tokens as ids plus a slice's block, shared, not copied; a
    mask of their own only when the ids would take more room (bench/mask_memory.py: C++ 6 KB -> ~70 bytes per piece,
    so ``MAX_PIECES`` is no longer 300 MB per index)."""

    MAX_PIECES = 50_000
    CAP0 = 16          # initial rows of acceptable sets (a power of two; step tables in proportion); tests make it tiny
    MAX_MASKS = 4_096   # finished masks kept per index
    # A finished mask is kept as its allowed ids, or its refused ids, when there are at most this many, else as a
    # copy (6 KB with a 49K vocabulary): on bench/mask_latency.py's schemas 73 % allow <= 768 tokens and 23 % refuse
    # <= 768, so JSON indexes hold 873 B per mask instead of 6,144 (bench/mask_memory.py: 12.2 -> 1.7 MB for 100
    # schemas; MAX_MASKS copies would be 25 MB per index). C++ masks are mostly mid-density: copies (4.0 -> 3.7 MB).
    MASK_IDS = 768

    def __init__(self, grammar, table: TokenTable):
        self.grammar = grammar
        self.table = table
        ct = grammar.config_tables
        hg = grammar.hole_graph
        self.ct = ct
        self.trans = np.ascontiguousarray(ct.trans, np.int64)
        self.end = np.ascontiguousarray(ct.end, np.int64)
        self.lab = np.ascontiguousarray(ct.lab, np.int64)
        self.bcls = np.ascontiguousarray(ct.byte_class, np.int64)
        n = self.trans.shape[0]
        self.n_configs = n
        T = grammar.cfg.n_terminals
        self.T = T
        self.W = (T + 1 + 63) // 64
        self.fresh = ct.q == hg.FRESH
        # own label bits (terminals + bit T for ignored) of accepting configurations
        labels = hg.labels
        own = np.zeros((n, self.W), np.uint64)
        lb = grammar.lexer.label_bits                # the label set of each lexer state, as bits
        emits = self.lab >= 0
        own[emits, :lb.shape[1]] = lb[self.lab[emits]]
        own[self.lab == -2, T // 64] |= np.uint64(1) << np.uint64(T % 64)
        self.own = own
        reach = own.copy()
        tr = self.trans
        valid = tr >= 0
        safe = np.where(valid, tr, 0)
        while True:
            succ = reach[safe]                       # [n, k, W]
            succ[~valid] = 0
            new = reach | np.bitwise_or.reduce(succ, axis=1) if succ.shape[1] else reach
            if np.array_equal(new, reach):
                break
            reach = new
        self.reach = reach
        # acceptable sets: row r of _oks / _usefuls is the set _ak_rows[r] (bit words; found by the hash _ak_h)
        self._akeys: dict = {}                        # acceptable set (int) -> (its row, ok, useful), as met in Python
        c = self.CAP0
        self._oks = np.zeros((c, n), np.bool_)
        self._usefuls = np.zeros((c, n), np.bool_)
        self._ak_rows = np.zeros((c, self.W), np.uint64)
        self._ak_h = np.full(4 * c, -1, np.int64)
        self._ak_n = np.zeros(1, np.int64)
        self._node_arow = np.zeros(16 * c, np.int32)    # node (nid) -> its row
        self._mh_keys = np.full(16 * c, -1, np.int64)   # the parser's steps (see the table above _mh_rehash)
        self._mh_vals = np.zeros(16 * c, np.int32)
        self._mh_n = np.zeros(1, np.int64)
        self._n_labels = max(1, len(labels))
        self.parser = ChartParser(grammar.cfg, labels)
        self._node_arow[0] = self._row(self.parser.n_ak[0])
        self.root = self._node(0)
        trie = table.trie
        self.trie = trie
        self.stk = np.zeros(trie.max_depth + 2, np.int64)
        self.ev_node = np.zeros(max(1, trie.n_nodes), np.int64)
        self.ev_cfg = np.zeros(max(1, trie.n_nodes), np.int64)
        self.ev_bounds = np.zeros(max(1, trie.n_nodes) + 1, np.int64)
        self._pieces: dict = {}
        self._masks: dict = {}      # matcher state (its branches) -> finished mask
        self.root_starts = np.array([-1], np.int64)
        self.root_starts.setflags(write=False)      # as the event groups' nodes (bytes views): one _walk signature
        self.stats = {"walks": 0, "piece_hits": 0, "sliced": 0, "shared": 0, "fast": 0}
        self._slice_of: dict = {}
        self._mark = np.full(n, -1, np.int64)
        self._wide = np.zeros(n, np.int8)        # 0 unknown, 1 wide, 2 narrow (see slice_for)
        self._xbuf = np.zeros(256, np.bool_)     # scratch of slice_for
        self._clsbuf = np.zeros(int(self.bcls.max()) + 1, np.bool_)
        self._lvl_off = np.zeros(0, np.int64)        # scratch of _level_sets (grown to the slice's length)
        self._lvl_dead = np.zeros(0, np.bool_)
        self._lvl_states = np.zeros(max(1024, n), np.int64)
        self._slice_a: dict = {}
        self.width = int(table.logits_width)
        self._pack_buf = np.zeros(self.MASK_IDS, np.uint32)
        self._scratch = np.zeros(table.n_words, np.uint32)   # a walk's mask when its ids do not fit (see piece)
        self._ids = np.zeros(table.n_words, np.int32)
        self._no_base = np.zeros(0, np.uint32)
        self._no_ids = np.zeros(0, np.int32)
        self._no_cfgs = np.zeros(0, np.int32)
        # walks kept for every acceptable set: from the root (filled by precompute_roots), below events (_shared_sub)
        self._rt_span = [None] * n
        self._rt_groups = [None] * n
        self._rt_ev_node = self._rt_ev_cfg = np.zeros(0, np.int32)
        # (token, last configuration) of every walk kept for every set: ``_pool`` those made with the index (then
        # fixed), ``_xpool`` those added later (small, so that growing it copies little)
        self._pool = self._xpool = np.zeros((2, 0), np.int32)
        self._pool_n = self._xpool_n = 0
        self._fixed = False
        self._subs: dict = {}
        self._end_list = self.end.tolist()
        self._every = np.ones(n, np.bool_)
        self._ends = self.end >= 0
        self._sub_ids = np.zeros(self.ROOT_TOKENS, np.int32)
        self._sub_cfgs = np.zeros(self.ROOT_TOKENS, np.int32)
        self._init_walk_tables()

    def tables_for(self, akey):
        """(ok, useful) bool arrays over configurations for an acceptable-terminal set."""
        r = self._akeys.get(akey)
        if r is None:
            row = self._row(np.frombuffer(akey.to_bytes(8 * self.W, "little"), "<u8"))
            r = self._akeys[akey] = (row, self._oks[row], self._usefuls[row])
        return r[1], r[2]

    def _row(self, words):
        """Row of _oks / _usefuls of the acceptable set ``words`` (filled if new)."""
        while True:
            r = _ak_row(words, self._ak_rows, self._ak_h, self._ak_n, self._oks, self._usefuls, self.reach, self.own,
                        self.end)
            if r >= 0:
                return int(r)
            self._grow_rows()

    def _grow_rows(self):
        k = 2 * len(self._ak_rows)
        self._oks = grown(self._oks, k)
        self._usefuls = grown(self._usefuls, k)
        self._ak_rows = grown(self._ak_rows, k)
        k = len(self._ak_rows)
        if 2 * k > len(self._ak_h):
            self._ak_h = np.full(4 * k, -1, np.int64)
            rehash_rows(self._ak_h, self._ak_rows, int(self._ak_n[0]))

    def _node(self, nid):
        """The node object of item set ``nid`` (with its row)."""
        n = self.parser.node(nid)
        n.arow = int(self._node_arow[nid])
        return n

    def step(self, nid, q):
        """Id of the item set after a lexeme with label set q at item set ``nid`` (-2: none fits), made and entered
        in the step table (with its acceptable row) by one numba call where new."""
        p = self.parser
        while True:
            n2 = _step(nid, q, self._n_labels, self._mh_keys, self._mh_vals, self._mh_n, self._node_arow,
                       self._ak_rows, self._ak_h, self._ak_n, self._oks, self._usefuls, self.reach, self.own, self.end,
                       p.no_kernel, *p.arrays())
            if n2 != -1:
                return int(n2)
            what = int(p.fail[0])
            if what == _SHORT_STEPS:
                keys = np.full(2 * len(self._mh_keys), -1, np.int64)
                vals = np.zeros(len(keys), np.int32)
                _mh_rehash(self._mh_keys, self._mh_vals, keys, vals)
                self._mh_keys, self._mh_vals = keys, vals
            elif what == _SHORT_NODES:
                self._node_arow = grown(self._node_arow, 2 * len(self._node_arow))
            elif what == _SHORT_ROWS:
                self._grow_rows()
            else:
                p.grow(what)

    # ------------------------------------------------------------------ masks composed in one numba call
    # Where every walk a mask needs is kept for every acceptable set (root walks from precompute_roots, walks below
    # events from _shared_sub), the mask is composed by _compose from flat tables instead of by collect's recursion
    # of Python calls; anything else (a walk per set, a per-set slice) falls back to collect. 0: always collect.
    FAST = 1
    FAST_POOL = 4_000_000     # tokens listed in the tables at most (32 MB); past that, new walks fall back

    def _init_walk_tables(self):
        """Walk w < n_configs: the root walk of configuration w; later ones: walks below events, numbered when first
        met (``_wid_of`` by their key in ``_subs``; ``_winfo`` = how to make them)."""
        n = self.n_configs
        self._wt = np.zeros((max(64, 2 * n), 6), np.int64)
        for c in range(n):
            sp = self._rt_span[c]
            if sp is not None:
                self._wt[c, :3] = (2, sp[0], sp[1])
        self._n_walks = n
        self._grp = np.zeros((2, 1024), np.int32)
        self._grp_n = 0
        self._wid_of: dict = {}
        self._winfo: list = []
        self._kcut: dict = {}
        self._set_walks: dict = {}    # (configuration, acceptable row) -> table walk of its root piece (-1: none)
        self._set_base: dict = {}     # such a walk -> its block of tokens (a slice's, or its own mask)
        self._stk = np.zeros((4096, 3), np.int64)
        self._need = np.zeros(4, np.int64)
        self._roots = np.zeros((4, 2), np.int64)

    FAST_PRECOMPUTE = 512     # walks prepared when the index is built (the rest when first needed)

    def precompute_walks(self):
        """Prepare the walks of the tables that the root walks lead to (below their events, recursively), once per
        index, so that a first mask finds them ready (bench/mask_latency.py schemas, an ad-hoc timing: ~54 walks, ~2 ms per index)."""
        w = 0
        while w < self._n_walks and w < self.n_configs + self.FAST_PRECOMPUTE:
            if self._wt[w, 0] == 2:
                self._prepare_walk(w)
            w += 1
        self._pool = self._pool[:, :self._pool_n].copy()
        self._xpool = np.zeros((2, 4096), np.int32)
        self._xpool_n = 0
        self._fixed = True

    def _prepare_walk(self, w):
        """Fill in walk w of the tables (its tokens and event groups), or mark it as not kept (state 0)."""
        n = self.n_configs
        if w < n:
            _, _, lo, hi, groups, x = self._shared_root(w)
        else:
            kb, t, e, key = self._winfo[w - n]
            r = self._shared_sub(key, kb, e, t)
            if r is None:
                self._wt[w, 0] = 0
                return
            _, _, lo, hi, groups, x = r
        self._fill_walk(w, x, lo, hi, groups)

    def _fast_root(self, c, node, u, roots):
        """Add the root walk of (c, node) to ``roots`` (a block of tokens it allows, a slice's or a piece's own, ORed
        into ``u``); False where collect must do it (a walk past FAST_POOL)."""
        key = (c, node.arow)
        if self._wt[c, 0]:
            sd = self.slice_for(c)
            k = 0
            if sd is not None:
                k = self._kcut.get(key)
                if k is None:
                    k = self._kcut[key] = int(_level_cut(self._oks[node.arow], sd[1], sd[2], sd[3], sd[0].max_len))
                if k >= 0:
                    _or_into(u, sd[0].upto[k])
            if k >= 0:
                roots.append((c, node.nid))
                return True
        # no walk kept for every set, or levels mixed under this one: the piece of this set (walked once, see piece)
        # as a walk of its own whose tokens need no filter
        w = self._set_walks.get(key)
        if w is None:
            w = self._set_walks[key] = self._piece_walk(c, node)
        if w < 0:
            return False
        base = self._set_base.get(w)
        if base is not None:
            _or_into(u, base)
        roots.append((w, node.nid))
        return True

    def _piece_walk(self, c, node):
        """Table walk of the root piece of (c, node.akey), or -1 when it does not fit FAST_POOL."""
        base, ids, groups = self.piece(("r", c, node.akey), self.root_starts, c, node.akey)
        r = self._append(ids, None)
        if r is None:
            return -1
        w = self._new_walk(None)
        self._fill_walk(w, *r, groups)
        if len(base):
            self._set_base[w] = base
        return w

    def _append(self, ids, cfgs):
        """Append a walk's list (``cfgs`` None: -1, no filter) to the pool being filled: (pool, first, end), or None
        past FAST_POOL."""
        k = len(ids)
        if self._pool_n + self._xpool_n + k > self.FAST_POOL:
            return None
        x = int(self._fixed)
        p, lo = (self._xpool, self._xpool_n) if x else (self._pool, self._pool_n)
        hi = lo + k
        p = grown(p, hi, axis=1)
        if x:
            self._xpool = p
        else:
            self._pool = p
        p[0, lo:hi] = ids
        p[1, lo:hi] = -1 if cfgs is None else cfgs
        if x:
            self._xpool_n = hi
        else:
            self._pool_n = hi
        return x, lo, hi

    def _new_walk(self, info):
        w = self._n_walks
        self._wt = grown(self._wt, w + 1)
        self._wt[w, 0] = 2
        self._winfo.append(info)
        self._n_walks += 1
        return w

    def _fill_walk(self, w, x, lo, hi, groups):
        """Walk w = tokens ``lo:hi`` of pool x and its event groups (their walks numbered when new); ready."""
        g_lo = self._grp_n
        self._grp = grown(self._grp, g_lo + len(groups), axis=1)
        for i, (c, kb, t, e, key) in enumerate(groups):
            child = self._wid_of.get(key)
            if child is None:
                child = self._wid_of[key] = self._new_walk((kb, t, e, key))
            self._grp[0, g_lo + i] = c
            self._grp[1, g_lo + i] = child
        self._grp_n = g_lo + len(groups)
        self._wt[w] = (1, lo, hi, g_lo, self._grp_n, x)

    def _fast_mask(self, branches, u):
        """The mask of ``branches`` ORed into ``u`` by :func:`_compose`; False where collect must make it."""
        roots = []
        end = self._end_list
        for c, node in branches:
            if not self._fast_root(c, node, u, roots):
                return False
            e = end[c]
            if e >= 0:
                n2 = self.step_node(node, c)
                if n2 is not None and not self._fast_root(e, n2, u, roots):
                    return False
        r = self._roots = grown(self._roots, len(roots))
        for i, (w, nid) in enumerate(roots):
            r[i, 0] = w
            r[i, 1] = nid
        r = r[:len(roots)]
        need = self._need
        resume = 0
        while not _compose(u, r, resume, self._node_arow, self._oks, self._usefuls, self.lab, self._mh_keys,
                           self._mh_vals, self._n_labels, self._wt, self._pool, self._xpool, self._grp, self._stk,
                           need):
            kind = int(need[0])
            resume = int(need[3])
            if kind == 2:
                self._prepare_walk(int(need[1]))
            elif kind == 3:
                self.step(int(need[1]), int(need[2]))
            else:
                return False
        self.stats["fast"] += 1
        return True

    SLICE_MIN_BYTES = 64

    def slice_for(self, c):
        """(slice, level offsets, level states, dead flags) for configuration c, or None.

        X = the ASCII bytes that lead c to a configuration inside the lexeme that cannot end it and
        is *wide* (at least SLICE_MIN_BYTES such bytes of its own; so the byte after a backslash or
        the last byte of a length bound is not in X). Level L = the configurations the X-strings of
        L bytes lead c to (-1 = dead: ``dead[L]``). When no level holds a configuration that can end
        a lexeme, an inside token of L bytes (all bytes in X) has no lexeme end inside and is allowed
        iff ``ok`` holds on level L: if that is true for exactly the lengths up to some k, the inside
        tokens need no walk (``slice.upto[k]``), only the others. Covers string contents, and union
        states that also track literal keys or length-bounded strings."""
        if c in self._slice_of:
            return self._slice_of[c]
        r = None
        x, cls = self._xbuf, self._clsbuf
        if _slice_bytes(c, self.trans, self.end, self.bcls, self.SLICE_MIN_BYTES, self._wide, x, cls):
            sl = self.table.slice(x, x)
            if sl is not None:
                r = self._level_sets(c, sl, np.flatnonzero(cls))
        self._slice_of[c] = r
        if r is not None:
            # along a chain (level 1 = one configuration d: inside a string, a length count) the
            # levels of d are those of c shifted by one
            sl, off, st, dead = r
            while len(off) > 2 and off[2] - off[1] == 1 and int(st[1]) not in self._slice_of:
                off, st, dead = off[1:] - 1, st[1:], dead[1:]
                self._slice_of[int(st[0])] = (sl, off, st, dead)
        return r

    def precompute_slices(self):
        """:meth:`slice_for` of every configuration, once per index (bench/mask_latency.py schemas: ~0.5 ms median,
        82 configurations): done lazily, the first mask reaching each configuration paid it instead (p50 ~12 µs,
        up to ~0.2 ms with its level sets)."""
        for c in range(self.n_configs):
            self.slice_for(c)

    # A configuration without a level slice whose root walk is kept for every acceptable set: that walk is filtered,
    # no per-set slice is sought (a slice of >= 20 % of the vocabulary could not have a kept walk anyway, so the search
    # only cost its _closed_bytes pass). 0: seek the per-set slice first, as before (bench/mask_ab.py --set
    # SHARED_FIRST=0, 300 schemas: mask mean 75.6 -> 71.4 µs, p50 55.0 -> 54.1, p99 282 -> 273).
    SHARED_FIRST = 1
    SLICE_A_MIN_BYTES = 16
    SLICE_A_MIN_FRACTION = 0.2

    def slice_for_akey(self, c, akey, ok):
        """Slice for configuration c under one acceptable set, or None: X = the largest set of ASCII bytes
        such that every configuration the X-strings lead c to is allowed (``ok``), alive and cannot end a
        lexeme. Then every token made of X bytes is allowed with no event inside; only the others are
        walked. For string contexts without level slices (a `pattern` or `format` string: X = the
        characters it allows everywhere, e.g. letters and digits inside an email address)."""
        key = (c, akey)
        if key in self._slice_a:
            return self._slice_a[key]
        x = self._xbuf
        r = None
        if _closed_bytes(c, self.trans, self.end, ok, self.bcls, x, self._mark, self._lvl_states,
                         self.SLICE_A_MIN_BYTES) >= self.SLICE_A_MIN_BYTES:
            r = self.table.slice(x, x, min_fraction=self.SLICE_A_MIN_FRACTION)
        self._slice_a[key] = r
        return r

    def _level_sets(self, c, sl, xcls):
        if len(self._lvl_off) < sl.max_len + 2:
            self._lvl_off = np.zeros(sl.max_len + 2, np.int64)
            self._lvl_dead = np.zeros(sl.max_len + 1, np.bool_)
        off, dead, states = self._lvl_off, self._lvl_dead, self._lvl_states
        while True:
            n = _levels(c, self.trans, self.end, xcls, sl.max_len, self._mark, off, dead, states)
            if n != -2:
                break
            states = self._lvl_states = np.zeros(2 * len(states), np.int64)
        if n < 0:
            return None
        return sl, off[:n + 2].copy(), states[:off[n + 1]].copy(), dead[:n + 1].copy()

    def piece(self, key, starts, start_cfg, akey, trie=None):
        """Cached walk from ``starts`` (the root, or event nodes as int64 bytes): (base, ids, [(config, event nodes as
        int64 bytes, trie, boundary config, key of their walk)]); its tokens are those of the uint32 mask ``base``
        (empty: none) and the int32 ``ids`` (see :func:`_or_piece`)."""
        p = self._pieces.get(key)
        if p is not None:
            self.stats["piece_hits"] += 1
            return p
        ok, useful = self.tables_for(akey)
        t = self.trie if trie is None else trie
        root = starts is self.root_starts
        sl, k, kept = None, -1, False     # slice and its row of ``upto``; whether the root walk kept for every set serves
        if root:
            sd = self.slice_for(start_cfg)
            if sd is not None:
                k = _level_cut(ok, sd[1], sd[2], sd[3], sd[0].max_len)
            if k >= 0:
                # the inside tokens of up to k bytes are allowed, the longer ones not: walk only the rest
                sl, kept = sd[0], True
            else:
                kept = sd is None and self._rt_span[start_cfg] is not None
                if not (kept and self.SHARED_FIRST):
                    # no slice, or mixed levels (a `format` or `pattern` string, alone or next to plain ones): the
                    # bytes that keep every configuration reachable with them allowed, if there are enough of them
                    sl = self.slice_for_akey(start_cfg, akey, ok)
                    kept = kept and sl is None
        base = self._no_base
        if sl is not None:
            base = sl.upto[k]
            t = sl.trie
            self.stats["sliced"] += 1
        scratch = self._scratch
        if t.n_nodes > len(self.ev_node):
            self.ev_node = np.zeros(t.n_nodes, np.int64)
            self.ev_cfg = np.zeros(t.n_nodes, np.int64)
            self.ev_bounds = np.zeros(t.n_nodes + 1, np.int64)
        if t.max_depth + 2 > len(self.stk):
            self.stk = np.zeros(t.max_depth + 2, np.int64)
        # the walk of this start for every acceptable set, where one is kept (see precompute_roots): filtered by this
        # set instead of walked
        if not root:
            shared = self._shared_sub(key[0], starts, start_cfg, t)
        else:
            shared = self._shared_root(start_cfg) if kept else None
        if shared is not None:
            tok, cfg, lo, hi, every_groups = shared[:5]
            n = _select(tok, cfg, lo, hi, ok, self._ids, scratch)
            groups = [g for g in every_groups if useful[g[0]]]
            self.stats["shared"] += 1
            return self._keep(key, base, n, groups)
        if not root:
            starts = np.frombuffer(starts, np.int64)
        n_ev, n = _walk(starts, start_cfg, self.trans, self.bcls, ok, useful, t.byte, t.depth, t.end, t.tok_off,
                        t.tok_ids, t.root_nodes, t.root_bytes, self.stk, self._ids, self._no_cfgs, scratch,
                        self.ev_node, self.ev_cfg)
        self.stats["walks"] += 1
        return self._keep(key, base, n, self._groups(t, n_ev))

    def _keep(self, key, base, n, groups):
        """Keep the piece whose tokens are ``base`` plus the n listed in ``_ids`` (n < 0: marked in ``_scratch``).
        Compact: the slice's shared block (never copied; a slice trie holds none of its tokens) plus the tokens as
        ids, as a mask of its own only when the ids would take more room (see the class docstring)."""
        if n >= 0:
            ids = self._ids[:n].copy()
        else:
            scratch = self._scratch
            if len(base):
                _or_into(scratch, base)
            base, ids = scratch.copy(), self._no_ids
            scratch[:] = 0
        p = (base, ids, groups)
        if len(self._pieces) >= self.MAX_PIECES:
            self._pieces.clear()
        self._pieces[key] = p
        return p

    def _groups(self, t, n_ev):
        """The events of the walk just done on trie t, grouped by configuration: [(config, event nodes, t, boundary
        config, key of the walk below them)]. The walk below these nodes depends only on them, on e and on the
        acceptable set: keyed by content, so that other walks ending their lexeme at the same nodes share it. The
        nodes are kept once, as the key's bytes (int64), read as an array only when walked."""
        groups = []
        if n_ev:
            n_g = _group_events(self.ev_cfg, self.ev_node, n_ev, self.ev_bounds)
            bounds = self.ev_bounds[:n_g + 1].tolist()
            heads = self.ev_cfg[self.ev_bounds[:n_g]].tolist()
            blob = self.ev_node[:n_ev].tobytes()
            end, tid = self._end_list, id(t)
            for g in range(n_g):
                c = heads[g]
                e = end[c]
                kb = blob[8 * bounds[g]:8 * bounds[g + 1]]
                groups.append((c, kb, t, e, (tid, kb, e)))
        return groups

    # A root walk for every configuration when the index is built, with every acceptable set at once: a token's fate
    # after it depends on the acceptable set only through ok[its last configuration], an event only through
    # useful[its configuration] (``reach`` only shrinks along a walk, so what a walk under one set prunes is refused
    # anyway), so one walk listing (token, last configuration) and all events serves every set. Only where that list
    # stays short: a configuration of at most ROOT_TOKENS tokens and ROOT_EVENTS events, an index of at most
    # ROOT_BUDGET tokens and ROOT_BUDGET // 4 events (C++: ~11,000 tokens and 14,000 events per configuration, 2,362
    # configurations: those keep a walk per acceptable set).
    ROOT_TOKENS = 2048
    ROOT_EVENTS = 1024
    ROOT_BUDGET = 128_000

    def precompute_roots(self):
        """The root walks for every acceptable set (see :meth:`piece`), flat: ``_pool`` (token, last configuration;
        the walks below events are appended later) and ``_rt_ev_node``/``_rt_ev_cfg`` (events); ``_rt_span[c]`` =
        (first token, end, first event, end, trie) or None. A configuration with a level slice walks the slice's other
        tokens, the others all tokens."""
        n = self.n_configs
        self._rt_span = [None] * n
        self._rt_groups = [None] * n
        if self.ROOT_BUDGET <= 0:
            return
        by_trie: dict = {id(self.trie): (self.trie, [])}
        for c in range(n):
            sd = self._slice_of.get(c)
            t = self.trie if sd is None else sd[0].trie
            by_trie.setdefault(id(t), (t, []))[1].append(c)
        # the slices' configurations first (string contents, where most steps of a JSON document are; their walks
        # list the few tokens outside the slice), then the others, while the budget lasts
        by_trie[id(self.trie)] = by_trie.pop(id(self.trie))
        every, ends = self._every, self._ends
        out_tok = np.empty(self.ROOT_BUDGET, np.int32)
        out_cfg = np.empty(self.ROOT_BUDGET, np.int32)
        out_ev_node = np.empty(self.ROOT_BUDGET // 4, np.int32)
        out_ev_cfg = np.empty(self.ROOT_BUDGET // 4, np.int32)
        pos = np.zeros(2, np.int64)
        for t, cs in by_trie.values():
            configs = np.array(cs, np.int64)
            span = np.empty((len(cs), 4), np.int64)
            _walk_roots(configs, self.trans, self.bcls, every, ends, t.byte, t.depth, t.end, t.tok_off, t.tok_ids,
                        t.root_nodes, t.root_bytes, self.stk, self._no_base, self.ev_node, self.ev_cfg, out_tok,
                        out_cfg, out_ev_node, out_ev_cfg, pos, self.ROOT_TOKENS, self.ROOT_EVENTS, span)
            for c, sp in zip(cs, span.tolist()):
                if sp[0] >= 0:
                    self._rt_span[c] = (*sp, t)
        p_tok, p_ev = pos.tolist()
        self._pool = np.zeros((2, max(1024, p_tok + p_tok // 2)), np.int32)
        self._pool[0, :p_tok] = out_tok[:p_tok]
        self._pool[1, :p_tok] = out_cfg[:p_tok]
        self._pool_n = p_tok
        self._fixed = False
        self._subs = {}
        self._rt_ev_node = out_ev_node[:p_ev].copy()
        self._rt_ev_cfg = out_ev_cfg[:p_ev].copy()
        self._init_walk_tables()

    def _shared_root(self, c):
        """(tokens, their configurations, first, end, event groups) of configuration c's walk for every acceptable
        set, or None."""
        r = self._rt_span[c]
        if r is None:
            return None
        t_lo, t_hi, e_lo, e_hi, t = r
        groups = self._rt_groups[c]
        if groups is None:
            n_ev = e_hi - e_lo
            self.ev_node[:n_ev] = self._rt_ev_node[e_lo:e_hi]
            self.ev_cfg[:n_ev] = self._rt_ev_cfg[e_lo:e_hi]
            groups = self._rt_groups[c] = self._groups(t, n_ev)
        return self._pool[0], self._pool[1], t_lo, t_hi, groups, 0

    def _shared_sub(self, sub, nodes, e, t):
        """The same for the walk below event ``nodes`` (int64 bytes) of trie t from boundary configuration e (key
        ``sub``): made when first needed, appended to the pools (see _append); None where its list is too long (more
        than ROOT_TOKENS tokens or ROOT_EVENTS events) or the pools are full (FAST_POOL)."""
        if self.ROOT_BUDGET <= 0:
            return None
        r = self._subs.get(sub)
        if r is None:
            ids, cfgs = self._sub_ids, self._sub_cfgs
            n_ev, k = _walk(np.frombuffer(nodes, np.int64), e, self.trans, self.bcls, self._every, self._ends, t.byte,
                            t.depth, t.end, t.tok_off, t.tok_ids, t.root_nodes, t.root_bytes, self.stk, ids, cfgs,
                            self._no_base, self.ev_node, self.ev_cfg)
            self.stats["walks"] += 1
            r = False
            if 0 <= k and n_ev <= self.ROOT_EVENTS:
                at = self._append(ids[:k], cfgs[:k])
                if at is not None:
                    r = (*at, self._groups(t, n_ev))
            self._subs[sub] = r
        if not r:
            return None
        p = self._xpool if r[0] else self._pool
        return p[0], p[1], r[1], r[2], r[3], r[0]

    def step_node(self, node, c):
        """Parser node after ending the lexeme in accepting configuration c (ignored: unchanged)."""
        q = int(self.lab[c])
        if q == -2:
            return node
        memo = node.memo
        out = memo.get(q, memo)
        if out is memo:
            n2 = self.step(node.nid, q)
            out = memo[q] = None if n2 == -2 else self._node(n2)
        return out

    def collect(self, key, node, starts, start_cfg, out, trie=None):
        """OR into ``out`` the allowed tokens of this walk and of its events, recursively."""
        base, ids, groups = self.piece(key, starts, start_cfg, node.akey, trie)
        _or_piece(out, base, ids)
        for c, nodes, t, e, sub in groups:
            n2 = self.step_node(node, c)
            if n2 is None:
                continue
            self.collect((sub, n2.akey), n2, nodes, e, out, t)


_INDEX_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


_WARM: set = set()        # token tables (by key) this process has warmed up


def _warm_up(table):
    """Once per process and token table: load the numba functions a mask may first need in the middle of a sequence
    (slices of bounded and of format strings, a parser step, a finished mask met again, tables growing past their
    first size). Loading one from numba's cache takes ~5 ms: that belongs with compiling the first grammar, not with
    one token's mask (such loads were most of the slowest masks on MaskBench schemas). Costs one small JSON-schema
    index and ~50 masks: 0.9-1.1 s per process with the embedded 49K vocabulary, where the first compile of a process
    took ~0.67 s of loading before (ad-hoc timing, session 17)."""
    if table.key in _WARM:
        return
    _WARM.add(table.key)
    from .api import Grammar
    from .chart_nb import _rehash_nodes

    h, v = np.full(8, -1, np.int64), np.zeros(8, np.int32)
    _mh_rehash(np.full(4, -1, np.int64), np.zeros(4, np.int32), h, v)
    rehash_rows(h, np.zeros((1, 1), np.uint64), 0)
    _rehash_nodes(h, np.zeros(1, np.uint64), 0)
    g = Grammar.from_json_schema({"type": "object", "properties": {
        "s": {"type": "string", "maxLength": 3}, "e": {"type": "string", "format": "email"},
        "n": {"type": "integer", "minimum": 0}, "a": {"type": "array", "items": {"enum": ["x", "y"]}}}})
    for _ in range(2):      # the second time through meets finished masks
        m = Matcher(grammar_index(g, table))
        for b in b'{"s": "ab", "e": "a@b.co", "n": 12, "a": ["x", "y"]}':
            m.mask()
            if not m.advance_bytes(bytes([b])):
                break


def grammar_index(grammar, table: TokenTable) -> GrammarIndex:
    _warm_up(table)
    per = _INDEX_CACHE.get(grammar)
    if per is None:
        per = _INDEX_CACHE[grammar] = {}
    idx = per.get(table.key)
    if idx is None:
        from .api import gc_paused

        with gc_paused():
            idx = per[table.key] = GrammarIndex(grammar, table)
            idx.precompute_slices()
            idx.precompute_roots()
            idx.precompute_walks()
            Matcher(idx).mask()     # the first mask of every sequence: its walks are cached with the index
    return idx


# ----------------------------------------------------------------------------- the matcher
class Matcher:
    """Incremental token matcher for one sequence (cheap; the index is shared).

    ``mask(out=None)`` fills an int32 bitmask over the logits width; ``advance(id)`` → bool
    (False leaves the state unchanged); ``is_accepting()``; ``rollback(n)``; ``forced_tokens()``;
    ``copy()``; ``reset()``."""

    def __init__(self, index: GrammarIndex):
        self.index = index
        self.table = index.table
        self._hist = [((0, index.root),)]
        self._eos = np.asarray(self.table.eos_ids, np.int64)

    # -- state
    @property
    def branches(self):
        return self._hist[-1]

    @property
    def n_tokens(self) -> int:
        """Tokens advanced so far (EOS excluded)."""
        return len(self._hist) - 1

    def copy(self) -> "Matcher":
        m = Matcher.__new__(Matcher)
        m.index, m.table, m._eos = self.index, self.table, self._eos
        m._hist = list(self._hist)
        return m

    def reset(self):
        del self._hist[1:]

    def rollback(self, n: int = 1):
        if n < 0 or n > len(self._hist) - 1:
            raise ValueError(f"cannot roll back {n} tokens (have {len(self._hist) - 1})")
        if n:
            del self._hist[-n:]

    @without_gc
    def is_accepting(self) -> bool:
        ix = self.index
        for c, node in self.branches:
            if ix.fresh[c]:
                if node.accepts:
                    return True
            elif ix.end[c] >= 0:
                n2 = ix.step_node(node, c)
                if n2 is not None and n2.accepts:
                    return True
        return False

    def is_dead(self) -> bool:
        return not self.branches

    # -- stepping
    def _step_bytes(self, branches, data: bytes):
        ix = self.index
        trans, end, bcls = ix.trans, ix.end, ix.bcls
        for b in data:
            k = bcls[b]
            nxt = {}
            for c, node in branches:
                c2 = int(trans[c, k])
                if c2 >= 0 and ix.tables_for(node.akey)[0][c2]:
                    nxt[(c2, id(node))] = (c2, node)
                if end[c] >= 0:
                    n2 = ix.step_node(node, c)
                    if n2 is not None:
                        c3 = int(trans[end[c], k])
                        if c3 >= 0 and ix.tables_for(n2.akey)[0][c3]:
                            nxt[(c3, id(n2))] = (c3, n2)
            branches = tuple(nxt.values())
            if not branches:
                return ()
        return branches

    @without_gc
    def advance(self, token_id: int) -> bool:
        """Consume a token; False (state unchanged) if it is not allowed. EOS is accepted iff
        the output is a full word (the state does not change)."""
        token_id = int(token_id)
        if token_id in self._eos:
            return self.is_accepting()
        if token_id < 0 or token_id >= len(self.table) or self.table.special[token_id]:
            return False
        data = self.table.token_bytes[token_id]
        if not data:
            return False
        nb_ = self._step_bytes(self.branches, data)
        if not nb_:
            return False
        self._hist.append(nb_)
        return True

    @without_gc
    def advance_bytes(self, data: bytes) -> bool:
        nb_ = self._step_bytes(self.branches, bytes(data))
        if not nb_:
            return False
        self._hist.append(nb_)
        return True

    @without_gc
    def mask(self, out: np.ndarray | None = None) -> np.ndarray:
        """Fill ``out`` (int32 [n_words], zeroed here) with the allowed tokens; returns it."""
        ix = self.index
        if out is None:
            out = np.zeros(self.table.n_words, np.int32)
        u = out.view(np.uint32)
        branches = self.branches
        done = ix._masks.get(branches)
        if done is not None:       # the same state again (item sets are shared, so a later sequence of this index
            _unpack_mask(u, done[0], done[1], ix.width)      # that reaches it holds the very same nodes)
            return out
        u[:] = 0
        if not (ix.FAST and ix.SHARED_FIRST and ix._fast_mask(branches, u)):
            u[:] = 0
            for c, node in branches:
                ix.collect(("r", c, node.akey), node, ix.root_starts, c, u)
                if ix.end[c] >= 0:  # the lexeme in progress may also end before the next token
                    n2 = ix.step_node(node, c)
                    if n2 is not None:
                        e = int(ix.end[c])
                        ix.collect(("r", e, n2.akey), n2, ix.root_starts, e, u)
        if len(self._eos) and self.is_accepting():
            for e in self._eos.tolist():
                u[e >> 5] |= np.uint32(1) << np.uint32(e & 31)
        if len(ix._masks) >= ix.MAX_MASKS:
            ix._masks.clear()
        kind, n = _pack_mask(u, ix.width, ix._pack_buf)
        ix._masks[branches] = (kind, u.copy() if kind == 2 else ix._pack_buf[:n].copy())
        return out

    def allowed_ids(self) -> np.ndarray:
        return TokenTable.mask_to_ids(self.mask())

    def forced_tokens(self, limit: int = 64) -> list[int]:
        """Tokens the grammar forces next (each the only allowed token, EOS not allowed), in order."""
        m = self.copy()
        out = []
        while len(out) < limit:
            if m.is_accepting():
                break
            ids = m.allowed_ids()
            if len(ids) != 1:
                break
            out.append(int(ids[0]))
            m.advance(int(ids[0]))
        return out


def compile_matcher(grammar, tokenizer_or_table, model=None) -> Matcher:
    """``Grammar.matcher(tok)``: a fresh matcher. Accepts a :class:`TokenTable` or a Hugging Face
    tokenizer (converted by ``memgram.runtime.vocab.token_table``; ``model`` adds its EOS ids and
    logits width). The per-(grammar, tokenizer) index is cached."""
    table = tokenizer_or_table
    if not isinstance(table, TokenTable):
        from memgram.runtime.vocab import token_table  # only reached with a HF tokenizer

        table = token_table(tokenizer_or_table, model)
    return Matcher(grammar_index(grammar, table))


# ----------------------------------------------------------------------------- slow reference
class ReferenceMatcher:
    """Specification by brute force: token allowed iff ``completable(prefix + bytes + HOLE)``;
    EOS iff ``accepts(prefix)``. For tests on sampled tokens only (each check is a full parse)."""

    def __init__(self, grammar, table: TokenTable, prefix: bytes = b""):
        self.grammar = grammar
        self.table = table
        self.prefix = bytes(prefix)

    def allowed(self, token_id: int) -> bool:
        from .api import HOLE

        if int(token_id) in set(self.table.eos_ids.tolist()):
            return bool(self.grammar.completable([self.prefix]))
        if self.table.special[token_id] or not self.table.token_bytes[token_id]:
            return False
        return bool(self.grammar.completable([self.prefix + self.table.token_bytes[token_id], HOLE]))

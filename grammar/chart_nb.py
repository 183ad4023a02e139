"""Numba Earley item sets for the token matcher: the same deduction as :class:`~.matcher.Parser` (which stays the
reference: tests/grammar/test_chart_nb.py compares both), with a scan and the item set it makes in one numba call.

About half of a fresh grammar's first masks need a parser step not made yet (a lexeme ending inside a token reaches a
parser state not met before). Made in Python (item set, acceptable-set row, step table) such a step took ~18 us at
the median of those masks, ~8.5 us as one numba call (:meth:`GrammarIndex.step`; ad-hoc phase timings on
bench/mask_latency.py's schemas, session 17). Items are ``(dotted rule, origin node)`` pairs in flat arrays:

* dotted rule ``dr``: ``rule_first[r] + dot``; ``dr_next[dr]`` the symbol after the dot, -1 at the end of the rule;
* node n: its kernel items (those that came from earlier nodes, waiting for a symbol; origin -1 = the node itself,
  only at the root) ``k_dr / k_org[nk_off[n]:nk_off[n + 1]]``, its predicted part (an id), whether it accepts, and
  its acceptable terminals (+ the "ignored lexeme" bit T) as bit words;
* predicted part p: the items ``(rule, dot)`` predicted for one set of nonterminals (closed under prediction and
  nullable advance, Aycock-Horspool), shared by every node that predicts the same set (found by a hash of the set).

An item set equal to one made before is that node (see :func:`_scan_build`). Arrays grow in Python: a call that
runs out of room returns -1 with what ran short, the caller doubles it and calls
again (a call writes nothing it keeps before it knows everything fits).
"""
from __future__ import annotations

import numba as nb
import numpy as np

# resources a build can run short of (``_scan_build``'s ``fail[0]``)
_K_ITEMS, _P_ITEMS, _STACK, _HASH, _PREDS, _NODES, _PHASH, _NHASH = 1, 2, 3, 4, 5, 6, 7, 8


@nb.njit(cache=True, nogil=True, inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
    return x ^ (x >> np.uint64(29))


@nb.njit(cache=True, nogil=True, inline="always")
def words_hash(words):
    h = np.uint64(1469598103934665603)
    for w in range(words.shape[0]):
        h = (h ^ words[w]) * np.uint64(1099511628211)
    return h


@nb.njit(cache=True, nogil=True, inline="always")
def find_row(index, rows, words):
    """(slot, row) of the bit words ``words`` among ``rows`` through the open-addressing ``index`` (row ids, -1 free;
    a power of two); row -1 and the free slot where they are not there."""
    m = index.shape[0] - 1
    i = np.int64(words_hash(words) >> np.uint64(16)) & m
    while index[i] != -1:
        r = index[i]
        same = True
        for w in range(words.shape[0]):
            if rows[r, w] != words[w]:
                same = False
                break
        if same:
            return i, r
        i = (i + 1) & m
    return i, -1


@nb.njit(cache=True, nogil=True)
def rehash_rows(index, rows, n):
    """Enter rows 0..n-1 into the empty ``index`` (see :func:`find_row`)."""
    m = index.shape[0] - 1
    for r in range(n):
        i = np.int64(words_hash(rows[r]) >> np.uint64(16)) & m
        while index[i] != -1:
            i = (i + 1) & m
        index[i] = r


@nb.njit(cache=True, nogil=True, inline="always")
def _hslot(keys, key):
    m = keys.shape[0] - 1
    i = np.int64((np.uint64(key) * np.uint64(11400714819323198485)) >> np.uint64(20)) & m
    while keys[i] != -1 and keys[i] != key:
        i = (i + 1) & m
    return i


@nb.njit(cache=True, nogil=True)
def _prediction(pbits, T, dr_next, nullable, bl_off, bl_dr, pr_off, pi_dr, pr_key, pr_ak, ph, cnt, pstk, mark_nt,
                mark_dr):
    """Id of the predicted part of the nonterminals ``pbits`` (bit s - T), made if new; -1 - resource if short."""
    NW = pbits.shape[0]
    i, p = find_row(ph, pr_key, pbits)
    if p >= 0:
        return p
    p = cnt[2]
    if 2 * (p + 1) > ph.shape[0]:
        return -1 - _PHASH
    if p + 1 >= pr_key.shape[0]:
        return -1 - _PREDS
    lo = cnt[3]
    if lo + dr_next.shape[0] > pi_dr.shape[0]:        # a closure lists each dotted rule at most once
        return -1 - _P_ITEMS
    n_st = 0
    NS = mark_nt.shape[0]
    for s in range(T, NS):
        k = s - T
        if (pbits[k >> 6] >> np.uint64(k & 63)) & np.uint64(1):
            mark_nt[s] = True
            for j in range(bl_off[s], bl_off[s + 1]):
                pstk[n_st] = bl_dr[j]
                n_st += 1
    hi = lo
    W = pr_ak.shape[1]
    for w in range(W):
        pr_ak[p, w] = 0
    while n_st > 0:                                    # pstk holds every rule once and each dotted rule once more
        n_st -= 1
        dr = pstk[n_st]
        if mark_dr[dr]:
            continue
        mark_dr[dr] = True
        pi_dr[hi] = dr
        hi += 1
        s = dr_next[dr]
        if s < 0:
            continue       # ε-completion at the predicting node: covered by the nullable advance
        if s < T:
            pr_ak[p, s >> 6] |= np.uint64(1) << np.uint64(s & 63)
            continue
        if not mark_nt[s]:
            mark_nt[s] = True
            for j in range(bl_off[s], bl_off[s + 1]):
                pstk[n_st] = bl_dr[j]
                n_st += 1
        if nullable[s]:
            pstk[n_st] = dr + 1
            n_st += 1
    for j in range(lo, hi):
        mark_dr[pi_dr[j]] = False
    mark_nt[:] = False
    # complete items (dot at the end) were listed to mark them; keep only the waiting ones
    k = lo
    for j in range(lo, hi):
        if dr_next[pi_dr[j]] >= 0:
            pi_dr[k] = pi_dr[j]
            k += 1
    pr_off[p + 1] = k
    for w in range(NW):
        pr_key[p, w] = pbits[w]
    ph[i] = p
    cnt[2] = p + 1
    cnt[3] = k
    return p


@nb.njit(cache=True, nogil=True, inline="always")
def _push(wk, n_w, dr, o):
    """Push the item (dr, o) on the work stack ``wk`` of size ``n_w``: the new size, or -1 when it is full."""
    if n_w >= wk.shape[0]:
        return -1
    wk[n_w, 0] = dr
    wk[n_w, 1] = o
    return n_w + 1


@nb.njit(cache=True, nogil=True, inline="always")
def _item_key(dr, o):
    return ((dr << 32) | (o + 1)) << 1           # even: an item; odd: a completion (see _done_key)


@nb.njit(cache=True, nogil=True, inline="always")
def _done_key(A, o):
    return (((A << 32) | o) << 1) | 1


@nb.njit(cache=True, nogil=True, inline="always")
def _hadd(ih, ih_used, n_used, key):
    """Add ``key`` to the set ``ih`` (its slots listed in ``ih_used[:n_used]``): the new count, the same count when it
    was there, or -1 when the set is full."""
    i = _hslot(ih, key)
    if ih[i] == key:
        return n_used
    if n_used >= ih_used.shape[0]:
        return -1
    ih[i] = key
    ih_used[n_used] = i
    return n_used + 1


@nb.njit(cache=True, nogil=True)
def _scan_build(node, q, kin_dr, kin_org, T, dr_next, dr_lhs, dr_start, nullable, bl_off, bl_dr, lab_has, nk_off,
                k_dr, k_org, n_pred, n_acc, n_ak, n_h, nh, pr_off, pi_dr, pr_key, pr_ak, ph, cnt, wk, ih, ih_used, dl,
                mark_nt, mark_dr, pstk, pbits, fail):
    """The node after a lexeme of label set q at ``node`` (its id), -2 where no label fits, or -1 where an array ran
    short (``fail[0]`` says which). ``node`` -1: the root, from the kernel ``kin_dr``/``kin_org``.

    An item set equal to one built before (the same waiting items with the same origins, the same acceptance: hence
    the same acceptable set and the same steps) is that node (``nh``: nodes by ``n_h``, a hash of their items), so a
    repeated structure (the elements of a long array) does not make a node per repetition."""
    n_w = 0
    if node >= 0:
        for j in range(nk_off[node], nk_off[node + 1]):
            s = dr_next[k_dr[j]]
            if s < T and lab_has[q, s] and n_w >= 0:
                n_w = _push(wk, n_w, k_dr[j] + 1, node if k_org[j] == -1 else k_org[j])
        p = n_pred[node]
        if p >= 0:
            for j in range(pr_off[p], pr_off[p + 1]):
                s = dr_next[pi_dr[j]]
                if s < T and lab_has[q, s] and n_w >= 0:
                    n_w = _push(wk, n_w, pi_dr[j] + 1, node)
        if n_w < 0:
            fail[0] = _STACK
            return -1
        if n_w == 0:
            return -2
    else:
        for j in range(kin_dr.shape[0]):
            n_w = _push(wk, n_w, kin_dr[j], kin_org[j])
    nid = cnt[0]
    if nid + 1 >= n_pred.shape[0]:
        fail[0] = _NODES
        return -1
    if 2 * (nid + 1) > nh.shape[0]:
        fail[0] = _NHASH
        return -1
    k0 = cnt[1]
    k = k0
    acc = False
    n_used = 0
    pbits[:] = 0
    has_p = False
    code = 0
    while n_w > 0:
        n_w -= 1
        dr = wk[n_w, 0]
        o = wk[n_w, 1]
        n2 = _hadd(ih, ih_used, n_used, _item_key(dr, o))
        if n2 < 0:
            code = _HASH
            break
        if n2 == n_used:
            continue       # an item met before in this build
        n_used = n2
        s = dr_next[dr]
        if s < 0:
            if dr_start[dr]:
                acc = True
            if o == -1:
                continue   # ε-completion at this node: covered by the nullable advance
            A = dr_lhs[dr]
            if ih[_hslot(ih, _done_key(A, o))] == _done_key(A, o):
                continue   # (origin, A) completed here already: what follows depends on nothing else
            # the nonterminals completed at o through its predicted part (A first), each marked
            nd = 1
            dl[0] = A
            mark_nt[A] = True
            p = n_pred[o]
            c = 0
            while c < nd and p >= 0 and code == 0:
                B = dl[c]
                c += 1
                for j in range(pr_off[p], pr_off[p + 1]):
                    d2 = pi_dr[j]
                    if dr_next[d2] != B:
                        continue
                    if dr_next[d2 + 1] >= 0:
                        n_w = _push(wk, n_w, d2 + 1, o)
                        if n_w < 0:
                            code = _STACK
                            break
                    else:
                        if dr_start[d2 + 1]:
                            acc = True
                        L = dr_lhs[d2 + 1]
                        if not mark_nt[L]:
                            mark_nt[L] = True
                            dl[nd] = L
                            nd += 1
            for c in range(nd):
                B = dl[c]
                mark_nt[B] = False
                if code:
                    continue
                n2 = _hadd(ih, ih_used, n_used, _done_key(B, o))
                if n2 < 0:
                    code = _HASH
                    continue
                n_used = n2
                for j in range(nk_off[o], nk_off[o + 1]):
                    if dr_next[k_dr[j]] == B:
                        n_w = _push(wk, n_w, k_dr[j] + 1, o if k_org[j] == -1 else k_org[j])
                        if n_w < 0:
                            code = _STACK
                            break
            if code:
                break
            continue
        if k >= k_dr.shape[0]:
            code = _K_ITEMS
            break
        k_dr[k] = dr
        k_org[k] = o
        k += 1
        if s >= T:
            b = s - T
            pbits[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
            has_p = True
            if nullable[s]:
                n_w = _push(wk, n_w, dr + 1, o)
                if n_w < 0:
                    code = _STACK
                    break
    same = -1
    slot = 0
    h = np.uint64(0)
    if code == 0:
        for j in range(k0, k):
            h += _mix(np.uint64(_item_key(k_dr[j], k_org[j])))
        if acc:
            h ^= np.uint64(0x9E3779B97F4A7C15)
        m = nh.shape[0] - 1
        i = np.int64(h >> np.uint64(20)) & m
        while nh[i] != -1:
            c = nh[i]
            if n_h[c] == h and n_acc[c] == acc and nk_off[c + 1] - nk_off[c] == k - k0:
                same = c
                for j in range(nk_off[c], nk_off[c + 1]):      # each of its items is one of this build's items
                    key = _item_key(k_dr[j], k_org[j])
                    if ih[_hslot(ih, key)] != key:
                        same = -1
                        break
                if same >= 0:
                    break
            i = (i + 1) & m
        slot = i
    for j in range(n_used):
        ih[ih_used[j]] = -1
    if code:
        fail[0] = code
        return -1
    if same >= 0:
        return same
    p = -1
    if has_p:
        p = _prediction(pbits, T, dr_next, nullable, bl_off, bl_dr, pr_off, pi_dr, pr_key, pr_ak, ph, cnt, pstk,
                        mark_nt, mark_dr)
        if p < 0:
            fail[0] = -1 - p
            return -1
    W = n_ak.shape[1]
    for w in range(W):
        n_ak[nid, w] = 0
        if p >= 0:
            n_ak[nid, w] = pr_ak[p, w]
    n_ak[nid, T >> 6] |= np.uint64(1) << np.uint64(T & 63)          # an ignored lexeme is always acceptable
    for j in range(k0, k):
        s = dr_next[k_dr[j]]
        if s < T:
            n_ak[nid, s >> 6] |= np.uint64(1) << np.uint64(s & 63)
    n_pred[nid] = p
    n_acc[nid] = acc
    n_h[nid] = h
    nh[slot] = nid
    nk_off[nid + 1] = k
    cnt[0] = nid + 1
    cnt[1] = k
    return nid


def grown(a: np.ndarray, need: int, axis: int = 0) -> np.ndarray:
    """``a`` itself if it has ``need`` entries along ``axis``, else a copy with at least twice as many (zeros after)."""
    n = a.shape[axis]
    if need <= n:
        return a
    shape = list(a.shape)
    shape[axis] = max(need, 2 * n, 16)
    b = np.zeros(shape, a.dtype)
    b[(slice(None),) * axis + (slice(0, n),)] = a
    return b


class ChartParser:
    """The item sets of :class:`~.matcher.Parser` built by :func:`_scan_build` (``root``, ``scan``; nodes with
    ``akey``, ``accepts``, ``memo``, ``nid``). Its arrays (:meth:`arrays`) let a numba caller step it too."""

    CAP0 = 256      # initial room, in nodes (a power of two; the other arrays in proportion); tests make it tiny

    def __init__(self, cfg, labels):
        from .matcher import PNode

        self._PNode = PNode
        T = cfg.n_terminals
        NS = T + len(cfg.nonterminals)
        self.T = T
        dr_next, dr_lhs, dr_start, rule_first = [], [], [], []
        for r, (lhs, rhs) in enumerate(cfg.rules):
            rule_first.append(len(dr_next))
            for s in list(rhs) + [-1]:
                dr_next.append(s)
                dr_lhs.append(lhs)
                dr_start.append(r == 0)
        self.dr_next = np.array(dr_next, np.int64)
        self.dr_lhs = np.array(dr_lhs, np.int64)
        self.dr_start = np.array(dr_start, np.bool_)
        bl_off, bl_dr = [0], []
        for s in range(NS):
            bl_dr.extend(rule_first[r] for r in cfg.rules_by_lhs.get(s, ()))
            bl_off.append(len(bl_dr))
        self.bl_off = np.array(bl_off, np.int64)
        self.bl_dr = np.array(bl_dr, np.int64)
        self.nullable = np.zeros(NS, np.bool_)
        for s in cfg.nullable:
            self.nullable[s] = True
        self.labels = [tuple(x) for x in labels]
        self.lab_has = np.zeros((max(1, len(self.labels)), max(1, T)), np.bool_)
        for q, ts in enumerate(self.labels):
            for t in ts:
                self.lab_has[q, t] = True
        W = (T + 1 + 63) // 64
        NW = max(1, (NS - T + 63) // 64)
        self.W = W
        c = self.CAP0
        self.nk_off = np.zeros(c + 1, np.int64)
        self.k_dr = np.zeros(4 * c, np.int64)
        self.k_org = np.zeros(4 * c, np.int64)
        self.n_pred = np.zeros(c, np.int64)
        self.n_acc = np.zeros(c, np.bool_)
        self.n_ak = np.zeros((c, W), np.uint64)
        self.n_h = np.zeros(c, np.uint64)
        self.nh = np.full(2 * c, -1, np.int64)
        c4 = max(2, c // 4)
        self.pr_off = np.zeros(c4 + 1, np.int64)
        self.pi_dr = np.zeros(4 * c, np.int64)
        self.pr_key = np.zeros((c4, NW), np.uint64)
        self.pr_ak = np.zeros((c4, W), np.uint64)
        self.ph = np.full(2 * c4, -1, np.int64)
        self.cnt = np.zeros(4, np.int64)           # nodes, kernel items, predicted parts, predicted items
        self.wk = np.zeros((4 * c, 2), np.int64)
        self.ih = np.full(16 * c, -1, np.int64)
        self.ih_used = np.zeros(8 * c, np.int64)
        self.dl = np.zeros(NS, np.int64)
        self.mark_nt = np.zeros(NS, np.bool_)
        self.mark_dr = np.zeros(len(dr_next), np.bool_)
        self.pstk = np.zeros(len(dr_next) + sum(len(v) for v in cfg.rules_by_lhs.values()) + 1, np.int64)
        self.pbits = np.zeros(NW, np.uint64)
        self.fail = np.zeros(1, np.int64)
        self.nodes: list = []          # node objects by id, made when asked for (None until then)
        self.no_kernel = np.zeros(0, np.int64)
        self.root = self._make(-1, 0, np.array([rule_first[0]], np.int64), np.array([-1], np.int64))

    def grow(self, what):
        """Double the array(s) a call ran short of (``fail[0]``)."""
        if what == _K_ITEMS:
            self.k_dr, self.k_org = grown(self.k_dr, 2 * len(self.k_dr)), grown(self.k_org, 2 * len(self.k_dr))
        elif what == _P_ITEMS:
            self.pi_dr = grown(self.pi_dr, 2 * len(self.pi_dr))
        elif what == _STACK:
            self.wk = grown(self.wk, 2 * len(self.wk))
        elif what == _HASH:
            self.ih = np.full(2 * len(self.ih), -1, np.int64)
            self.ih_used = np.zeros(len(self.ih) // 2, np.int64)
        elif what == _PREDS:
            k = 2 * len(self.pr_key)
            self.pr_key, self.pr_ak = grown(self.pr_key, k), grown(self.pr_ak, k)
            self.pr_off = grown(self.pr_off, len(self.pr_key) + 1)
        elif what == _NODES:
            k = 2 * len(self.n_pred)
            self.n_pred, self.n_acc, self.n_ak = grown(self.n_pred, k), grown(self.n_acc, k), grown(self.n_ak, k)
            self.n_h = grown(self.n_h, k)
            self.nk_off = grown(self.nk_off, len(self.n_pred) + 1)
        elif what == _NHASH:
            nh = np.full(2 * len(self.nh), -1, np.int64)
            _rehash_nodes(nh, self.n_h, int(self.cnt[0]))
            self.nh = nh
        elif what == _PHASH:
            ph = np.full(2 * len(self.ph), -1, np.int64)
            rehash_rows(ph, self.pr_key, int(self.cnt[2]))
            self.ph = ph
        else:   # pragma: no cover - a code the kernel does not return
            raise AssertionError(f"unknown resource {what}")

    def arrays(self):
        """The arguments of :func:`_scan_build` after the kernel (current arrays: growing replaces them)."""
        return (self.T, self.dr_next, self.dr_lhs, self.dr_start, self.nullable, self.bl_off, self.bl_dr, self.lab_has,
                self.nk_off, self.k_dr, self.k_org, self.n_pred, self.n_acc, self.n_ak, self.n_h, self.nh, self.pr_off,
                self.pi_dr,
                self.pr_key, self.pr_ak, self.ph, self.cnt, self.wk, self.ih, self.ih_used, self.dl, self.mark_nt,
                self.mark_dr, self.pstk, self.pbits, self.fail)

    def node(self, nid):
        """The node object of item set ``nid`` (made when first asked for)."""
        pn = self.nodes
        if nid >= len(pn):
            pn.extend([None] * (nid + 1 - len(pn)))
        n = pn[nid]
        if n is None:
            n = pn[nid] = self._PNode()
            n.nid = nid
            n.akey = int.from_bytes(self.n_ak[nid].tobytes(), "little")
            n.accepts = bool(self.n_acc[nid])
            n.memo = {}
            n.arow = -1
            n.kern = n.pred = None
        return n

    def _make(self, node, q, kin_dr, kin_org):
        while True:
            nid = _scan_build(node, q, kin_dr, kin_org, *self.arrays())
            if nid != -1:
                break
            self.grow(int(self.fail[0]))
        return None if nid == -2 else self.node(nid)

    def scan(self, node, q):
        """The node after a lexeme with label set ``labels[q]``; None if no label fits (standalone use: the token
        matcher steps the parser through its own table, see ``GrammarIndex.step``)."""
        memo = node.memo
        if q in memo:
            return memo[q]
        out = memo[q] = self._make(node.nid, q, self.no_kernel, self.no_kernel)
        return out


@nb.njit(cache=True, nogil=True)
def _rehash_nodes(nh, n_h, n):
    m = nh.shape[0] - 1
    for c in range(n):
        i = np.int64(n_h[c] >> np.uint64(20)) & m
        while nh[i] != -1:
            i = (i + 1) & m
        nh[i] = c

"""Python regular expressions → minimized byte DFAs over UTF-8.

``regex_to_dfa(pattern)`` accepts exactly the byte strings ``s.encode("utf-8")`` for which
``re.fullmatch(pattern, s)`` holds (``s`` a Python ``str`` without lone surrogates). Invalid UTF-8
is never accepted.

Pipeline: the standard library's own parser (``re._parser``, ``sre_parse`` before 3.11) gives the
syntax tree; it is compiled into a Thompson NFA whose character sets are expanded into UTF-8 byte
range sequences (the usual split of a code-point range into ranges with a common encoded length
and full continuation-byte ranges); the NFA is determinized (subset construction over the byte classes
of its edges, a numba kernel; the plain-Python construction, edges swept as byte intervals, stays as its
reference and serves patterns with lookbehinds) and minimized.

Exactness of character sets. Sets are computed as code-point interval lists:

* literals and ranges directly;
* the categories ``\\d \\w \\s`` (and negations) with Python 3 ``str`` semantics (Unicode, or ASCII
  under ``(?a)``) by letting ``re`` itself scan a string holding every code point once (computed
  once per process and cached) — so they agree with ``re`` by construction;
* case-insensitive matching (``(?i)``, ``(?i:...)``): a character that is not *case-relevant*
  (not cased, not the lowercase image of a cased character) matches case-insensitively iff it
  matches case-sensitively (``_sre`` lowercases the subject character, and lowercasing is the
  identity on such characters). The ~3,000 case-relevant characters are tested one by one with the
  compiled single-character pattern (``re`` with the same flags), so Unicode case folding quirks
  (Kelvin sign, long s, dotless i, ...) agree with ``re`` exactly.
* surrogates (U+D800..U+DFFF) cannot be encoded in UTF-8 and are removed from every set.

Supported: literals, concatenation, alternation, groups (capturing, non-capturing, named), classes
and negated classes, ranges, ``. \\d \\w \\s \\D \\W \\S``, flags ``i s x a u`` (global and scoped),
``{m,n}``/``{m,}``/``*``/``+``/``?`` and their lazy forms (lazy and greedy repetition accept the same
strings under ``fullmatch``), and *lookbehind* assertions ``(?<=B)``/``(?<!B)`` (Python requires B
to have a fixed width; the assertion is evaluated against the text matched so far, which is what
``fullmatch`` does — it is needed by lark's ``ESCAPED_STRING``): each lookbehind body becomes a
tracker DFA for ``(?s:.*)B`` run in lockstep during determinization.

Rejected with :class:`GrammarError` naming the terminal and the feature: anchors (``^ $ \\A \\Z \\b
\\B``), lookahead assertions, backreferences, conditional groups, possessive repetition and atomic
groups (they change the language), the LOCALE flag.
"""
from __future__ import annotations

import functools
import re

import numba as nb
import numpy as np

try:  # Python ≥ 3.11
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
    from re import _constants as _sre_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre_parse  # type: ignore[no-redef]
    import sre_constants as _sre_c  # type: ignore[no-redef]

import _sre

from .automata import DEAD, ByteDFA, _append, _lookup, _room
from .errors import GrammarError

__all__ = ["regex_to_dfa", "charset_of", "utf8_sequences"]

MAX_CP = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)

_F_I = _sre_c.SRE_FLAG_IGNORECASE
_F_S = _sre_c.SRE_FLAG_DOTALL
_F_A = _sre_c.SRE_FLAG_ASCII
_F_L = _sre_c.SRE_FLAG_LOCALE

_POSSESSIVE = getattr(_sre_c, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(_sre_c, "ATOMIC_GROUP", None)


# ---------------------------------------------------------------------------- interval sets
def _normalize(ivs) -> tuple:
    """Sorted, merged tuple of (lo, hi) inclusive intervals."""
    ivs = sorted(ivs)
    out: list = []
    for lo, hi in ivs:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ivs: tuple) -> tuple:
    out = []
    prev = 0
    for lo, hi in ivs:
        if lo > prev:
            out.append((prev, lo - 1))
        prev = hi + 1
    if prev <= MAX_CP:
        out.append((prev, MAX_CP))
    return tuple(out)


def _subtract(ivs: tuple, rem: tuple) -> tuple:
    return _intersect(ivs, _complement(rem))


def _intersect(a: tuple, b: tuple) -> tuple:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _contains(ivs: tuple, cp: int) -> bool:
    import bisect
    k = bisect.bisect_right(ivs, (cp, MAX_CP + 1)) - 1
    return k >= 0 and ivs[k][0] <= cp <= ivs[k][1]


# ---------------------------------------------------------------------------- re-derived sets
@functools.lru_cache(maxsize=1)
def _all_code_points() -> str:
    """Every code point once, at its own index; surrogate positions hold a space (they are
    removed from every set afterwards, so what is matched there does not matter)."""
    a = np.arange(MAX_CP + 1, dtype=np.uint32)
    a[SURROGATES[0]:SURROGATES[1] + 1] = 0x20
    return a.tobytes().decode("utf-32-le")


@functools.lru_cache(maxsize=None)
def _category_set(cat_pattern: str, ascii_flag: bool) -> tuple:
    """Code points matched by a category escape (``\\d`` ...), computed by ``re`` itself."""
    flags = re.ASCII if ascii_flag else 0
    rx = re.compile(cat_pattern + "+", flags)
    return tuple((m.start(), m.end() - 1) for m in rx.finditer(_all_code_points()))


@functools.lru_cache(maxsize=1)
def _case_relevant() -> tuple[str, tuple]:
    """Characters whose case-insensitive matching can differ from case-sensitive matching."""
    cased = [c for c in range(MAX_CP + 1) if _sre.unicode_iscased(c)]
    rel = set(cased)
    rel.update(_sre.unicode_tolower(c) for c in cased)
    try:
        from re import _casefix  # type: ignore[attr-defined]
        for k, vs in _casefix._EXTRA_CASES.items():
            rel.add(k)
            rel.update(vs)
    except Exception:  # pragma: no cover
        pass
    rel = sorted(rel)
    return "".join(map(chr, rel)), _normalize((c, c) for c in rel)


_CAT_ESC = {
    _sre_c.CATEGORY_DIGIT: r"\d", _sre_c.CATEGORY_NOT_DIGIT: r"\D",
    _sre_c.CATEGORY_SPACE: r"\s", _sre_c.CATEGORY_NOT_SPACE: r"\S",
    _sre_c.CATEGORY_WORD: r"\w", _sre_c.CATEGORY_NOT_WORD: r"\W",
}


def _esc(cp: int) -> str:
    return "\\U%08x" % cp


def _node_pattern(op, av, flags: int) -> str:
    """A single-character pattern string equivalent to the parse node (for ``re`` re-checks)."""
    if op is _sre_c.LITERAL:
        return _esc(av)
    if op is _sre_c.NOT_LITERAL:
        return "[^" + _esc(av) + "]"
    if op is _sre_c.ANY:
        return "."
    if op is _sre_c.IN:
        parts = []
        for iop, iav in av:
            if iop is _sre_c.NEGATE:
                parts.insert(0, "^")
            elif iop is _sre_c.LITERAL:
                parts.append(_esc(iav))
            elif iop is _sre_c.RANGE:
                parts.append(_esc(iav[0]) + "-" + _esc(iav[1]))
            elif iop is _sre_c.CATEGORY:
                parts.append(_CAT_ESC[iav])
            else:  # pragma: no cover
                raise GrammarError(f"unsupported class item {iop}")
        return "[" + "".join(parts) + "]"
    raise AssertionError(op)


def _case_sensitive_set(op, av, flags: int) -> tuple:
    ascii_flag = bool(flags & _F_A)
    if op is _sre_c.LITERAL:
        return ((av, av),)
    if op is _sre_c.NOT_LITERAL:
        return _complement(((av, av),))
    if op is _sre_c.ANY:
        if flags & _F_S:
            return ((0, MAX_CP),)
        return _complement(((10, 10),))
    if op is _sre_c.IN:
        neg = False
        ivs = []
        for iop, iav in av:
            if iop is _sre_c.NEGATE:
                neg = True
            elif iop is _sre_c.LITERAL:
                ivs.append((iav, iav))
            elif iop is _sre_c.RANGE:
                ivs.append((iav[0], iav[1]))
            elif iop is _sre_c.CATEGORY:
                if iav not in _CAT_ESC:
                    raise GrammarError(f"unsupported category {iav}")
                ivs.extend(_category_set(_CAT_ESC[iav], ascii_flag))
            else:
                raise GrammarError(f"unsupported class item {iop}")
        s = _normalize(ivs)
        return _complement(s) if neg else s
    raise AssertionError(op)


def _node_key(op, av):
    if op is _sre_c.IN:
        return (str(op), tuple((str(a), b) for a, b in av))
    return (str(op), av)


_set_cache: dict = {}


def charset_of(op, av, flags: int) -> tuple:
    """Code-point intervals (surrogates removed) matched by a single-character node under flags."""
    rel_flags = flags & (_F_I | _F_S | _F_A)
    key = (_node_key(op, av), rel_flags)
    r = _set_cache.get(key)
    if r is not None:
        return r
    s = _case_sensitive_set(op, av, flags)
    if flags & _F_I:
        rel_str, rel_ivs = _case_relevant()
        rx = re.compile(_node_pattern(op, av, flags), rel_flags)
        hits = [m.start() for m in rx.finditer(rel_str)]
        s = _normalize(list(_subtract(s, rel_ivs)) + [(ord(rel_str[i]), ord(rel_str[i])) for i in hits])
    s = _subtract(s, (SURROGATES,))
    _set_cache[key] = s
    return s


# ---------------------------------------------------------------------------- UTF-8 ranges
_LEN_BOUNDS = ((0, 0x7F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF))


def _enc(cp: int) -> bytes:
    return chr(cp).encode("utf-8", "surrogatepass")


def _split_same_len(lo: int, hi: int, n: int, out: list) -> None:
    # Split [lo, hi] (all with encoded length n) until each piece is a product of byte ranges.
    for i in range(1, n):
        m = (1 << (6 * i)) - 1
        if (lo & ~m) != (hi & ~m):
            if lo & m:
                _split_same_len(lo, lo | m, n, out)
                _split_same_len((lo | m) + 1, hi, n, out)
                return
            if (hi & m) != m:
                _split_same_len(lo, (hi & ~m) - 1, n, out)
                _split_same_len(hi & ~m, hi, n, out)
                return
    a, b = _enc(lo), _enc(hi)
    out.append(tuple(zip(a, b)))


@functools.lru_cache(maxsize=4096)
def utf8_sequences(ivs: tuple) -> tuple:
    """UTF-8 encodings of a code-point interval set as sequences of byte ranges.

    Returns a tuple of sequences ``((lo1, hi1), (lo2, hi2), ...)``: the set of byte strings of the
    code points is exactly the union over sequences of the products of the byte ranges.
    """
    out: list = []
    for lo, hi in ivs:
        for n, (blo, bhi) in enumerate(_LEN_BOUNDS, start=1):
            a, b = max(lo, blo), min(hi, bhi)
            if a <= b:
                _split_same_len(a, b, n, out)
    return tuple(out)


# ---------------------------------------------------------------------------- NFA
class _NFA:
    """Thompson NFA over bytes: ε-edges, byte-range edges and lookbehind-guarded ε-edges."""

    def __init__(self):
        self.eps: list = []      # state -> list of targets
        self.edges: list = []    # state -> list of (lo, hi, target)
        self.guards: list = []   # state -> list of (tracker index, positive, target)

    def new(self) -> int:
        self.eps.append([])
        self.edges.append([])
        self.guards.append([])
        return len(self.eps) - 1


@functools.lru_cache(maxsize=4096)
def _charset_template(ivs: tuple) -> tuple[int, tuple]:
    """The UTF-8 byte automaton of a code-point set as (inner states, edges (src, lo, hi, dst)) over local states:
    0 = entry, 1 = exit, 2.. inner; sequences with equal suffixes share the state they continue from."""
    edges: list = []
    memo: dict = {(): 1}

    def suffix_state(suf: tuple) -> int:
        s = memo.get(suf)
        if s is None:
            nxt = suffix_state(suf[1:])
            s = memo[suf] = len(memo) + 1
            edges.append((s, suf[0][0], suf[0][1], nxt))
        return s

    for seq in utf8_sequences(ivs):
        tgt = suffix_state(seq[1:])
        edges.append((0, seq[0][0], seq[0][1], tgt))
    return len(memo) - 1, tuple(edges)


class _Compiler:
    def __init__(self, name):
        self.name = name
        self.nfa = _NFA()
        self.trackers: list = []   # ByteDFA for (?s:.*)B

    def fail(self, what: str):
        raise GrammarError(f"unsupported regex feature in terminal {self.name or '?'}: {what}",
                           terminal=self.name)

    def charset(self, ivs: tuple, a: int, b: int) -> None:
        """Byte edges a → b for the code points ``ivs``: an instance of the set's cached template (a bounded
        repetition of a large class places it hundreds of times)."""
        nfa = self.nfa
        n_inner, edges = _charset_template(ivs)
        base = len(nfa.eps) - 2
        nfa.eps.extend([] for _ in range(n_inner))
        nfa.edges.extend([] for _ in range(n_inner))
        nfa.guards.extend([] for _ in range(n_inner))
        ends = (a, b)
        for src, lo, hi, dst in edges:
            nfa.edges[ends[src] if src < 2 else base + src].append((lo, hi, ends[dst] if dst < 2 else base + dst))

    def seq(self, items, flags: int, a: int, b: int) -> None:
        """Compile a list of parse items between states a → b."""
        items = list(items)
        if not items:
            self.nfa.eps[a].append(b)
            return
        cur = a
        for k, (op, av) in enumerate(items):
            nxt = b if k == len(items) - 1 else self.nfa.new()
            self.item(op, av, flags, cur, nxt)
            cur = nxt

    def item(self, op, av, flags: int, a: int, b: int) -> None:
        c = _sre_c
        nfa = self.nfa
        if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
            self.charset(charset_of(op, av, flags), a, b)
        elif op is c.SUBPATTERN:
            if len(av) == 4:
                _group, add, dele, p = av
                f = (flags | add) & ~dele
            else:  # pragma: no cover - very old layout
                _group, p = av
                f = flags
            if f & _F_L:
                self.fail("LOCALE flag")
            self.seq(p, f, a, b)
        elif op is c.BRANCH:
            for alt in av[1]:
                s = nfa.new()
                nfa.eps[a].append(s)
                self.seq(alt, flags, s, b)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            lo, hi, p = av
            cur = a
            for _ in range(lo):
                nxt = nfa.new()
                self.seq(p, flags, cur, nxt)
                cur = nxt
            if hi is c.MAXREPEAT or hi == c.MAXREPEAT:
                loop = nfa.new()
                nfa.eps[cur].append(loop)
                body_end = nfa.new()
                self.seq(p, flags, loop, body_end)
                nfa.eps[body_end].append(loop)
                nfa.eps[loop].append(b)
            else:
                for _ in range(hi - lo):
                    nxt = nfa.new()
                    nfa.eps[cur].append(b)
                    self.seq(p, flags, cur, nxt)
                    cur = nxt
                nfa.eps[cur].append(b)
        elif _POSSESSIVE is not None and op is _POSSESSIVE:
            self.fail("possessive repetition (changes the language)")
        elif _ATOMIC is not None and op is _ATOMIC:
            self.fail("atomic group (changes the language)")
        elif op is c.AT:
            self.fail(f"anchor {av}")
        elif op in (c.ASSERT, c.ASSERT_NOT):
            direction, p = av
            if direction != -1:
                self.fail("lookahead assertion")
            # tracker DFA for "the text read so far ends with a word of B"
            sub = _Compiler(self.name)
            s0, s1 = sub.nfa.new(), sub.nfa.new()
            dot = charset_of(c.ANY, None, _F_S)
            loop = sub.nfa.new()
            sub.nfa.eps[s0].append(loop)
            sub.charset(dot, loop, loop)
            sub.seq(p, flags, loop, s1)
            tracker = sub.determinize(s0, s1)
            self.trackers.append(tracker)
            nfa.guards[a].append((len(self.trackers) - 1, op is c.ASSERT, b))
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
            self.fail("backreference / conditional group")
        else:
            self.fail(f"{op}")

    # ------------------------------------------------------------------ determinization
    def determinize(self, start: int, final: int) -> ByteDFA:
        """Minimal DFA of the NFA from ``start`` to ``final``: the numba subset construction
        (:func:`_nfa_subsets`) unless lookbehind trackers take part, then :meth:`determinize_py`."""
        if any(self.nfa.guards) or not USE_NUMBA:
            return self.determinize_py(start, final)
        nfa = self.nfa
        n = len(nfa.eps)
        eps_off = np.zeros(n + 1, np.int64)
        eps_off[1:] = np.cumsum([len(x) for x in nfa.eps])
        eps_tgt = np.array([t for x in nfa.eps for t in x], np.int32)
        e_off = np.zeros(n + 1, np.int64)
        e_off[1:] = np.cumsum([len(x) for x in nfa.edges])
        flat = [e for x in nfa.edges for e in x]
        e_lo = np.array([e[0] for e in flat], np.int32)
        e_hi = np.array([e[1] for e in flat], np.int32)
        e_tgt = np.array([e[2] for e in flat], np.int32)
        # byte classes: the elementary intervals between the edges' range boundaries
        cuts = np.zeros(257, np.bool_)
        cuts[0] = True
        cuts[e_lo] = True
        cuts[e_hi + 1] = True
        cls = (np.cumsum(cuts[:256]) - 1).astype(np.int32)
        k = int(cls[-1]) + 1
        R, fin = _nfa_subsets(eps_off, eps_tgt, e_off, cls[e_lo], cls[e_hi], e_tgt, k, start, final)
        return ByteDFA(np.ascontiguousarray(R[:, cls]), fin, 0).minimize()

    def determinize_py(self, start: int, final: int) -> ByteDFA:
        """Plain-Python subset construction (also with lookbehind trackers); the reference of :meth:`determinize`."""
        nfa = self.nfa
        trackers = self.trackers
        eps, edges, guards = nfa.eps, nfa.edges, nfa.guards
        has_guards = any(guards)

        def closure(states, trk):
            seen = set(states)
            stack = list(states)
            while stack:
                s = stack.pop()
                for t in eps[s]:
                    if t not in seen:
                        seen.add(t)
                        stack.append(t)
                if has_guards:
                    for k, pos, t in guards[s]:
                        q = trk[k]
                        ok = (q >= 0 and bool(trackers[k].accept[q]))
                        if ok == pos and t not in seen:
                            seen.add(t)
                            stack.append(t)
            return frozenset(seen)

        memo: dict = {}
        trk0 = tuple(t.start for t in trackers)
        S0 = (closure([start], trk0), trk0)
        ids = {S0: 0}
        order = [S0]
        rows = []
        i = 0
        while i < len(order):
            S, trk = order[i]
            i += 1
            row = np.full(256, DEAD, np.int32)
            es = [e for s in S for e in edges[s]]
            if es:
                pts = {0, 256}
                for lo, hi, _t in es:
                    pts.add(lo)
                    pts.add(hi + 1)
                if trackers:
                    for k, q in enumerate(trk):
                        if q >= 0:
                            r = trackers[k].trans[q]
                            pts.update((np.nonzero(np.diff(r))[0] + 1).tolist())
                pts = sorted(pts)
                # sweep: targets per elementary interval [pts[m], pts[m+1])
                where = {p: m for m, p in enumerate(pts)}
                cover: list = [None] * (len(pts) - 1)
                for lo, hi, t in es:
                    for m in range(where[lo], where[hi + 1]):
                        if cover[m] is None:
                            cover[m] = [t]
                        else:
                            cover[m].append(t)
                for m, tg in enumerate(cover):
                    if tg is None:
                        continue
                    x, y = pts[m], pts[m + 1]
                    if trackers:
                        ntrk = tuple(int(trackers[k].trans[q, x]) if q >= 0 else DEAD for k, q in enumerate(trk))
                        key = (closure(tg, ntrk), ntrk)
                    else:
                        ftg = frozenset(tg)
                        c = memo.get(ftg)
                        if c is None:
                            c = memo[ftg] = closure(tg, ())
                        key = (c, ())
                    j = ids.get(key)
                    if j is None:
                        j = ids[key] = len(order)
                        order.append(key)
                    row[x:y] = j
            rows.append(row)
        trans = np.array(rows, np.int32).reshape(-1, 256)
        accept = np.array([final in S for S, _ in order], bool)
        return ByteDFA(trans, accept, 0).minimize()


USE_NUMBA = True   # tests switch it off to compare with the Python subset construction


@nb.njit(cache=True, nogil=True)
def _closure_kernel(buf, n, eps_off, eps_tgt, e_off, final, mark, stamp, stack, out):
    """ε-closure of ``buf[:n]``, keeping only the states that matter for a DFA state (byte edges, or ``final``):
    written sorted and distinct into ``out``; returns their number. ``mark``/``stamp`` avoid clearing."""
    top = 0
    for a in range(n):
        s = buf[a]
        if mark[s] != stamp:
            mark[s] = stamp
            stack[top] = s
            top += 1
    m = 0
    while top > 0:
        top -= 1
        s = stack[top]
        if e_off[s + 1] > e_off[s] or s == final:
            out[m] = s
            m += 1
        for j in range(eps_off[s], eps_off[s + 1]):
            t = eps_tgt[j]
            if mark[t] != stamp:
                mark[t] = stamp
                stack[top] = t
                top += 1
    out[:m].sort()
    return m


@nb.njit(cache=True, nogil=True)
def _nfa_subsets(eps_off, eps_tgt, e_off, e_clo, e_chi, e_tgt, k, start, final):
    """Subset construction over a Thompson NFA (ε-edges, byte-class-range edges with several targets per class):
    DFA states are ε-closed sets (kept as their states with byte edges or ``final``; sorted arrays in a pool found
    again by hash). Returns (R [M, k] int32 with -1 = dead, accept [M])."""
    N = eps_off.shape[0] - 1
    mark = np.full(N, -1, np.int64)
    stack = np.empty(N + 1, np.int32)
    buf = np.empty(N + 1, np.int32)
    out = np.empty(N + 1, np.int32)
    cap = 1024
    pool = np.empty(4096, np.int32)
    off = np.zeros(cap + 1, np.int64)
    R = np.empty((cap, k), np.int32)
    hsize = 4096
    htab = np.full(hsize, -1, np.int64)
    stamp = 0
    buf[0] = start
    m = _closure_kernel(buf, 1, eps_off, eps_tgt, e_off, final, mark, stamp, stack, out)
    slot, _ = _lookup(out, m, pool, off, htab)
    pool = _append(out, m, pool, off, 0)
    htab[slot] = 0
    M = 1
    # targets per class of one DFA state: linked lists over a growing entry array
    head = np.full(k, -1, np.int64)
    nxt = np.empty(1024, np.int64)
    val = np.empty(1024, np.int32)
    i = 0
    while i < M:
        off, R, htab = _room(M, i, k, off, R, htab, pool)
        ne = 0
        for a in range(off[i], off[i + 1]):
            s = pool[a]
            for j in range(e_off[s], e_off[s + 1]):
                for c in range(e_clo[j], e_chi[j] + 1):
                    if ne == nxt.shape[0]:
                        n2 = np.empty(2 * ne, np.int64)
                        n2[:ne] = nxt
                        nxt = n2
                        v2 = np.empty(2 * ne, np.int32)
                        v2[:ne] = val
                        val = v2
                    val[ne] = e_tgt[j]
                    nxt[ne] = head[c]
                    head[c] = ne
                    ne += 1
        for c in range(k):
            n = 0
            e = head[c]
            while e >= 0:
                buf[n] = val[e]
                n += 1
                e = nxt[e]
            head[c] = -1
            if n == 0:
                R[i, c] = -1
                continue
            stamp += 1
            m = _closure_kernel(buf, n, eps_off, eps_tgt, e_off, final, mark, stamp, stack, out)
            if m == 0:      # nothing left that reads a byte or accepts: dead
                R[i, c] = -1
                continue
            slot, found = _lookup(out, m, pool, off, htab)
            if found < 0:
                pool = _append(out, m, pool, off, M)
                htab[slot] = M
                found = M
                M += 1
            R[i, c] = found
        i += 1
    acc = np.zeros(M, np.bool_)
    for q in range(M):
        for a in range(off[q], off[q + 1]):
            if pool[a] == final:
                acc[q] = True
    return R[:M], acc


def _literal_dfa(text: str) -> ByteDFA:
    """The chain automaton of one literal string (already minimal and in canonical order)."""
    if any(SURROGATES[0] <= ord(ch) <= SURROGATES[1] for ch in text):
        # a lone surrogate can never be part of a UTF-8 string: empty language
        return ByteDFA(np.full((1, 256), DEAD, np.int32), np.zeros(1, bool), 0)
    data = text.encode("utf-8")
    n = len(data) + 1
    trans = np.full((n, 256), DEAD, np.int32)
    trans[np.arange(n - 1), np.frombuffer(data, np.uint8)] = np.arange(1, n, dtype=np.int32)
    accept = np.zeros(n, bool)
    accept[-1] = True
    return ByteDFA(trans, accept, 0)


@functools.lru_cache(maxsize=4096)
def _compile_pattern(pattern: str) -> ByteDFA:
    try:
        parsed = _sre_parse.parse(pattern, 0)
    except re.error as e:
        raise GrammarError(f"invalid regex {pattern!r}: {e}") from None
    flags = parsed.state.flags
    if not flags & (_F_I | _F_L) and all(op is _sre_c.LITERAL for op, _ in parsed):
        return _literal_dfa("".join(chr(av) for _, av in parsed))
    comp = _Compiler(None)
    if flags & _F_L:
        comp.fail("LOCALE flag")
    s, f = comp.nfa.new(), comp.nfa.new()
    comp.seq(parsed, flags, s, f)
    return comp.determinize(s, f)


def regex_to_dfa(pattern: str, *, name: str | None = None) -> ByteDFA:
    """Minimized DFA over UTF-8 bytes accepting exactly the strings ``re.fullmatch(pattern, s)`` matches.

    Raises :class:`GrammarError` (with ``terminal=name``) for invalid patterns and unsupported
    features (anchors, lookahead, backreferences, conditionals, possessive/atomic, LOCALE).
    The result is cached per pattern and shared: do not mutate its arrays.
    """
    try:
        return _compile_pattern(pattern)
    except GrammarError as e:
        msg = e.message
        if name is not None:
            msg = msg.replace("terminal ?", f"terminal {name}")
            if f"terminal {name}" not in msg:
                msg = f"{msg} in terminal {name}"
        raise GrammarError(msg, terminal=name) from None


@functools.lru_cache(maxsize=1024)
def _and_patterns(a: str, b: str) -> ByteDFA:
    return _compile_pattern(a).intersect(_compile_pattern(b))


@functools.lru_cache(maxsize=1024)
def _minus_patterns(a: str, b: str) -> ByteDFA:
    return _compile_pattern(a).minus(_compile_pattern(b))


def regexes_to_dfa(pattern: str, also: str | None = None, minus: str | None = None, *,
                   name: str | None = None) -> ByteDFA:
    """Minimized DFA of the strings ``pattern`` fullmatches, and ``also`` too, and ``minus`` not (cached per
    pair, shared)."""
    d = regex_to_dfa(pattern, name=name)
    for x in (also, minus):
        if x is not None:
            regex_to_dfa(x, name=name)      # errors named as regex_to_dfa names them
    if also is not None:
        d = _and_patterns(pattern, also)
    if minus is not None:
        d = _minus_patterns(pattern, minus) if also is None else d.minus(_compile_pattern(minus))
    return d


@functools.lru_cache(maxsize=4096)
def uses_lazy_repeat(pattern: str) -> bool:
    """Whether ``pattern`` contains a lazy quantifier (``*? +? ?? {m,n}?``).

    Such terminals (lark's common ``C_COMMENT`` ``/\\*(.|\\n)*?\\*/`` and ``ESCAPED_STRING`` are the usual ones) are
    written to stop at the *first* closing delimiter, which is what ``re.match`` (and so lark's lexer) does; the
    lexer gives them shortest-match semantics (see :class:`memgram.grammar.lexer.LexerAutomaton`).
    """
    if not any(q in pattern for q in ("*?", "+?", "??", "}?")):
        return False    # a lazy quantifier is written as one of these (the converse needs the parse below)
    try:
        import re._parser as sre_parse  # Python 3.11+
        import re._constants as c
    except ImportError:  # pragma: no cover
        import sre_parse  # type: ignore
        import sre_constants as c  # type: ignore

    try:
        tree = sre_parse.parse(pattern)
    except Exception:
        return False

    def walk(items) -> bool:
        for op, av in items:
            if op == c.MIN_REPEAT:
                return True
            if op in (c.MAX_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                if walk(av[2]):
                    return True
            elif op == c.SUBPATTERN:
                if walk(av[-1]):
                    return True
            elif op == c.BRANCH:
                if any(walk(b) for b in av[1]):
                    return True
            elif op in (c.ASSERT, c.ASSERT_NOT):
                if walk(av[1]):
                    return True
        return False

    return walk(tree.data if hasattr(tree, "data") else tree)

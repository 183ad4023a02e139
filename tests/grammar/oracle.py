"""Brute-force oracle for the documented lexing + parsing semantics (test helper).

Lexing with ``re.fullmatch`` per terminal over all prefixes (longest match → priority → literals →
label set; ignored lexemes dropped) and a CYK-style fixpoint over the label-set sequence using
lark's compiled rules. Independent of memgram.grammar's automata and parser.
"""
from __future__ import annotations

import itertools
import re
from functools import lru_cache

import lark
from lark.lexer import PatternStr


class Oracle:
    def __init__(self, text, start="start"):
        lk = lark.Lark(text, parser="earley", lexer="basic", start=start)
        self.start = start
        self.ignored = set(lk.ignore_tokens)
        self.terms = [(td.name, re.compile(td.pattern.to_regexp()), td.priority, isinstance(td.pattern, PatternStr))
                      for td in lk.terminals]
        self.rules = {}
        for r in lk.rules:
            self.rules.setdefault(r.origin.name, []).append(
                tuple((s.name, s.is_term) for s in r.expansion))

    def lex(self, w: str):
        out = []
        i = 0
        while i < len(w):
            best = None
            for j in range(len(w), i, -1):
                m = [t for t in self.terms if t[1].fullmatch(w, i, j)]
                if m:
                    best = (j, m)
                    break
            if best is None:
                return None
            j, m = best
            pr = max(t[2] for t in m)
            m = [t for t in m if t[2] == pr]
            lits = [t for t in m if t[3]]
            m = lits or m
            if not any(t[0] in self.ignored for t in m):
                out.append(frozenset(t[0] for t in m))
            i = j
        return out

    def derives(self, seq) -> bool:
        seq = tuple(seq)
        n = len(seq)
        # table[(A, i, j)] via fixpoint per span (handles unit rules / ε)
        nts = list(self.rules)
        table = set()

        def rhs_derives(rhs, i, j):
            # can the symbol list rhs derive seq[i:j], given table for spans strictly inside
            # or equal (same span) — fixpoint iteration below makes this sound
            @lru_cache(maxsize=None)
            def go(k, a):
                if k == len(rhs):
                    return a == j
                name, is_term = rhs[k]
                if is_term:
                    return a < j and name in seq[a] and go(k + 1, a + 1)
                for b in range(a, j + 1):
                    if (name, a, b) in table and go(k + 1, b):
                        return True
                return False
            return go(0, i)

        for length in range(0, n + 1):
            for i in range(0, n - length + 1):
                j = i + length
                changed = True
                while changed:
                    changed = False
                    for A in nts:
                        if (A, i, j) in table:
                            continue
                        if any(rhs_derives(r, i, j) for r in self.rules[A]):
                            table.add((A, i, j))
                            changed = True
        return (self.start, 0, n) in table

    def member(self, w: str) -> bool:
        seq = self.lex(w)
        return seq is not None and self.derives(seq)

    def completable(self, pieces, alphabet, max_len):
        """Some filling of every hole with strings over alphabet of length <= max_len (or the hole's bound)."""
        from memgram.grammar import Hole

        holes = [p for p in pieces if isinstance(p, Hole)]
        opts = []
        for h in holes:
            L = max_len if h.max_bytes is None else min(max_len, h.max_bytes)
            opts.append(["".join(t) for n in range(L + 1) for t in itertools.product(alphabet, repeat=n)])
        for fill in itertools.product(*opts):
            it = iter(fill)
            w = "".join(next(it) if isinstance(p, Hole) else p for p in pieces)
            if self.member(w):
                return w
        return None

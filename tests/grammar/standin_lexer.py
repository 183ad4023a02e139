"""Test helper: a tiny, independent union-lexer automaton for restricted regexes.

Supports concatenations of atoms (a literal character, an escaped character, or a class
``[abc]``/``[a-c]``), each optionally followed by ``*``, ``+`` or ``?`` — enough for the small random
grammars of the property tests. Used as a second implementation next to grammar/lexer.py and as a
stand-in while that module is absent. Implements the documented label rule (longest match →
priority → literals → set).
"""
from __future__ import annotations

import numpy as np


def _parse(p):
    atoms = []
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            s = {ord(p[i + 1])}
            i += 2
        elif c == "[":
            j = p.index("]", i + 1)
            body = p[i + 1:j]
            s = set()
            k = 0
            while k < len(body):
                if body[k] == "\\":
                    s.add(ord(body[k + 1]))
                    k += 2
                elif k + 2 < len(body) and body[k + 1] == "-":
                    s.update(range(ord(body[k]), ord(body[k + 2]) + 1))
                    k += 3
                else:
                    s.add(ord(body[k]))
                    k += 1
            i = j + 1
        elif c == "(" and p.startswith("(?:", i) and p.endswith(")"):
            # lark wraps some patterns in (?:...)
            return _parse(p[i + 3:-1])
        else:
            s = {ord(c)}
            i += 1
        rep = ""
        if i < len(p) and p[i] in "*+?":
            rep = p[i]
            i += 1
        atoms.append((frozenset(s), rep))
    return atoms


def _nfa(atoms):
    """States 0..len(atoms); state k = before atom k. Returns eps-closure fn and step."""
    n = len(atoms)

    def closure(states):
        out = set(states)
        stack = list(states)
        while stack:
            k = stack.pop()
            if k < n and atoms[k][1] in "*?" and atoms[k][1] != "" and k + 1 not in out:
                out.add(k + 1)
                stack.append(k + 1)
        return frozenset(out)

    def step(states, b):
        nxt = set()
        for k in states:
            if k < n and b in atoms[k][0]:
                nxt.add(k + 1)
                if atoms[k][1] in "*+" and atoms[k][1] != "":
                    nxt.add(k)
        return closure(nxt)

    return closure, step, n


class StandinDFA:
    def __init__(self, trans, accept):
        self.trans = trans
        self.accept = accept
        self.start = 0


class StandinLexer:
    def __init__(self, terminals):
        self.terminals = list(terminals)
        nfas = [_nfa(_parse(t.pattern)) for t in self.terminals]
        start = tuple(cl({0}) for cl, _, _ in nfas)
        index = {start: 0}
        states = [start]
        rows = []
        k = 0
        while k < len(states):
            st = states[k]
            row = np.full(256, -1, np.int32)
            for b in range(256):
                nx = tuple(step(s, b) for (cl, step, n), s in zip(nfas, st))
                if all(not s for s in nx):
                    continue
                if nx not in index:
                    index[nx] = len(states)
                    states.append(nx)
                row[b] = index[nx]
            rows.append(row)
            k += 1
        self.trans = np.array(rows, np.int32)
        accepting = [[i for i, ((cl, step, n), s) in enumerate(zip(nfas, st)) if n in s] for st in states]
        labels = []
        for acc in accepting:
            if not acc:
                labels.append(())
                continue
            pr = max(self.terminals[i].priority for i in acc)
            c = [i for i in acc if self.terminals[i].priority == pr]
            lit = [i for i in c if self.terminals[i].is_literal]
            labels.append(tuple(lit or c))
        self.labels = labels
        acc_arr = np.array([bool(l) for l in labels])
        self.dfa = StandinDFA(self.trans, acc_arr)
        self.ignored = np.array([any(self.terminals[i].ignored for i in l) for l in labels], bool)
        # ext_live: an accepting state reachable with >= 1 byte
        nS = len(states)
        live = acc_arr.copy()
        changed = True
        while changed:
            changed = False
            for s in range(nS):
                if not live[s]:
                    for t in self.trans[s]:
                        if t >= 0 and live[t]:
                            live[s] = True
                            changed = True
                            break
        self.ext_live = np.array([any(t >= 0 and live[t] for t in self.trans[s]) for s in range(nS)], bool)
        _, first, inv = np.unique(self.trans.T, axis=0, return_index=True, return_inverse=True)
        self.byte_class = np.asarray(inv).reshape(-1).astype(np.int32)
        self.n_classes = len(first)

    def lex(self, data: bytes):
        out = []
        i = 0
        while i < len(data):
            q = 0
            last = None
            j = i
            while j < len(data):
                q = self.trans[q, data[j]]
                if q < 0:
                    break
                j += 1
                if self.labels[q]:
                    last = (j, q)
            if last is None:
                return None
            out.append((i, last[0], self.labels[last[1]]))
            i = last[0]
        return out

"""The maximal-munch lexer automaton: one DFA for all terminals, with a label set per state.

Lexing semantics (see also the project docs; a standard, non-contextual lexer like Lark's
``lexer="basic"``):

1. *Longest match*: at each position take the longest non-empty prefix matched by any terminal
   (ignored terminals included). If none matches, lexing fails.
2. *Labels*: among the terminals matching exactly that lexeme keep those with the highest priority;
   then, if any of them is a literal (lark ``PatternStr``), keep only the literals. The remaining set
   is the lexeme's label set; the parser may use any terminal of it.
3. If the label set contains an ignored terminal, the lexeme is dropped.

A terminal's language is ``re.fullmatch`` of its pattern over the lexeme alone (lazy quantifiers
therefore do not shorten a lexeme: longest match applies to every terminal).

:class:`LexerAutomaton` builds the union DFA of all terminal DFAs (subset construction over the
concatenated terminal tables = the sparse product automaton), computes the label set of each
union state by the rule above, and minimizes it with the initial partition keyed by the label
set, so each state of ``dfa`` has a well-defined label set.

**Lookahead rule** (what a checker needs to decide that a lexeme ends at position j). Let the
lexeme ``data[i:j]`` lead the union DFA from its start to state ``q`` with ``accept[q]``. Then
``data[i:j]`` is the maximal munch at i iff running the union DFA from ``q`` over ``data[j:]`` does
not reach an accepting state (after ≥ 1 byte) before it dies or the input ends. Consequently:

* if ``ext_live[q]`` is False (``blocks_continuation(q)``), no continuation can extend the lexeme:
  it ends at j whatever follows, no lookahead needed;
* otherwise the decision depends on the following bytes; with unknown following text (a hole) a
  checker must consider both "some continuation extends it" and "the next lexeme starts at j"
  (the latter is only consistent with the actual following bytes when they do not lead q to
  acceptance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .automata import DEAD, ByteDFA, determinize_tables, pair_bfs
from .errors import GrammarError
from .regex import regex_to_dfa, regexes_to_dfa, uses_lazy_repeat

__all__ = ["Terminal", "LexerAutomaton", "label_rule"]


@dataclass(frozen=True)
class Terminal:
    name: str
    pattern: str          # regex source as lark emits it (``to_regexp()``), or for literals the escaped regex
    is_literal: bool      # lark PatternStr
    priority: int = 0
    ignored: bool = False
    also: str | None = None  # a lexeme must match this regex too (intersection; lark text writes it as a lookahead)
    minus: str | None = None  # a lexeme must not match this regex (difference; lark text writes the whole regex)


def label_rule(terminals: list[Terminal], matching) -> tuple[int, ...]:
    """The label set for a lexeme matched exactly by the terminal indices ``matching``.

    Highest priority first; then literals beat patterns. Returns a sorted tuple (empty if
    ``matching`` is empty).
    """
    matching = list(matching)
    if not matching:
        return ()
    top = max(terminals[t].priority for t in matching)
    cand = [t for t in matching if terminals[t].priority == top]
    lits = [t for t in cand if terminals[t].is_literal]
    if lits:
        cand = lits
    return tuple(sorted(cand))


def _with_also_minus(t: Terminal, d: ByteDFA) -> ByteDFA:
    """Terminal t's DFA ``d`` intersected with ``t.also`` and without ``t.minus`` (cached per patterns; from ``d``
    itself when it is a shortest-match language)."""
    if t.also is None and t.minus is None:
        return d
    if not uses_lazy_repeat(t.pattern):
        return regexes_to_dfa(t.pattern, t.also, t.minus, name=t.name)
    if t.also is not None:
        d = d.intersect(regex_to_dfa(t.also, name=t.name))
    if t.minus is not None:
        d = d.minus(regex_to_dfa(t.minus, name=t.name))
    return d


class LexerAutomaton:
    """Union automaton of all terminals with the documented label rule (longest match → priority → literal → set).

    Attributes:
      terminals: the terminal list (index = terminal id).
      terminal_dfas: minimized DFA of each terminal (``regex_to_dfa``).
      dfa: union DFA, minimized with the initial partition keyed by the label set.
      label_bits: uint64 [n_states, n_words] bitset of candidate terminal ids per state (zero if not accepting).
      labels: the same as a list of tuples.
      ignored: bool [n_states]: the state's label set contains an ignored terminal.
      ext_live: bool [n_states]: an accepting state is reachable with ≥ 1 byte.
      byte_class: int32 [256] class ids of the union DFA; n_classes: their number.
    """

    def __init__(self, terminals: list[Terminal]):
        self.terminals = list(terminals)
        self._derived: dict = {}
        if not self.terminals:
            raise GrammarError("a lexer needs at least one terminal")
        # A terminal written with a lazy quantifier stops at its first possible end, as re.match (lark) does.
        dfas = [regex_to_dfa(t.pattern, name=t.name) for t in self.terminals]
        dfas = [d.shortest_match_dfa() if uses_lazy_repeat(t.pattern) else d for t, d in zip(self.terminals, dfas)]
        dfas = [_with_also_minus(t, d) for t, d in zip(self.terminals, dfas)]
        for t, d in zip(self.terminals, dfas):
            # a terminal with an empty language is allowed (it never produces a lexeme)
            if d.accept[d.start]:
                raise GrammarError(f"terminal {t.name} matches the empty string (zero-width terminals "
                                   f"are not allowed)", terminal=t.name)
        self.terminal_dfas = dfas
        # concatenate the terminal tables: global state = offset[t] + local state
        offsets = np.cumsum([0] + [d.n_states for d in dfas])
        N = int(offsets[-1])
        T = np.full((N, 256), DEAD, np.int32)
        owner = np.zeros(N, np.int64)
        acc = np.zeros(N, bool)
        for k, d in enumerate(dfas):
            o = int(offsets[k])
            T[o:o + d.n_states] = np.where(d.trans >= 0, d.trans + o, DEAD)
            owner[o:o + d.n_states] = k
            acc[o:o + d.n_states] = d.accept
        starts = [int(offsets[k]) + d.start for k, d in enumerate(dfas)]
        trans, sets = determinize_tables(T, [starts])
        raw_labels = [label_rule(self.terminals, [int(owner[s]) for s in S if acc[s]]) for S in sets]
        raw = ByteDFA(trans, np.array([bool(lb) for lb in raw_labels], bool), 0)
        dfa = raw.minimize(partition_key=lambda q: raw_labels[q])
        # map labels to the minimized states: run each minimized state's representative
        # (the minimized automaton is a quotient of the trimmed raw one; recover labels by
        #  simulating both from the start in BFS order)
        labels = self._transfer_labels(raw, raw_labels, dfa)
        self.dfa = dfa
        self.labels = labels
        n = dfa.n_states
        n_words = max(1, (len(self.terminals) + 63) // 64)
        bits = np.zeros((n, n_words), np.uint64)
        for q, lb in enumerate(labels):
            for t in lb:
                bits[q, t // 64] |= np.uint64(1) << np.uint64(t % 64)
        self.label_bits = bits
        ign = np.array([t.ignored for t in self.terminals], bool)
        self.ignored = np.array([bool(lb) and bool(ign[list(lb)].any()) for lb in labels], bool)
        self.ext_live = dfa.ext_live()
        self.byte_class, self.n_classes = dfa.byte_classes()

    @staticmethod
    def _transfer_labels(raw: ByteDFA, raw_labels, dfa: ByteDFA) -> list:
        # one byte per class of the minimized DFA reaches all of its successors (and the raw state a minimized one
        # is reached with, when the raw DFA reads the same bytes, has the same label set)
        reps = np.unique(np.asarray(dfa.byte_classes()[0]), return_index=True)[1]
        rep = pair_bfs(np.ascontiguousarray(dfa.trans[:, reps]), np.ascontiguousarray(raw.trans[:, reps]),
                       dfa.start, raw.start).tolist()
        return [raw_labels[r] if r >= 0 else () for r in rep]

    # ------------------------------------------------------------------ queries
    def prefix_dfa(self, t: int) -> ByteDFA:
        """Prefixes of terminal t's language (cached): a lexeme cut at the end of a text piece."""
        key = ("prefix", t)
        d = self._derived.get(key)
        if d is None:
            d = self._derived[key] = self.terminal_dfas[t].prefix_dfa()
        return d

    def suffix_dfa(self, t: int) -> ByteDFA:
        """Suffixes of terminal t's language (cached): a lexeme cut at the start of a text piece."""
        key = ("suffix", t)
        d = self._derived.get(key)
        if d is None:
            d = self._derived[key] = self.terminal_dfas[t].suffix_dfa()
        return d

    @property
    def n_states(self) -> int:
        return self.dfa.n_states

    def blocks_continuation(self, q: int) -> bool:
        """True iff no accepting state is reachable from q with ≥ 1 byte (a lexeme ending in q is final)."""
        return not bool(self.ext_live[q])

    def lex(self, data: bytes):
        """Reference maximal-munch lexer.

        Returns a list of ``(start, end, labels)`` for every lexeme, ignored ones included (the
        caller filters with ``self.ignored`` / the terminals' ``ignored`` flag), or None if some
        position has no non-empty match. Empty input gives ``[]``.
        """
        trans = self.dfa.trans
        accept = self.dfa.accept
        out = []
        i = 0
        n = len(data)
        start = self.dfa.start
        while i < n:
            q = start
            last = -1
            last_q = -1
            j = i
            while j < n:
                q = int(trans[q, data[j]])
                if q < 0:
                    break
                j += 1
                if accept[q]:
                    last, last_q = j, q
            if last < 0:
                return None
            out.append((i, last, self.labels[last_q]))
            i = last
        return out

    def lex_tokens(self, data: bytes):
        """Like :meth:`lex` but without ignored lexemes; each entry is (start, end, labels)."""
        toks = self.lex(data)
        if toks is None:
            return None
        ign = {k for k, t in enumerate(self.terminals) if t.ignored}
        return [tok for tok in toks if not (set(tok[2]) & ign)]

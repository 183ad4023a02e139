"""Lark grammar text → a plain context-free grammar over lexer terminals.

Lark's own loader expands the EBNF (``?``, ``*``, ``+``, ``[..]``, inlined rules, templates),
resolves ``%import``/``%ignore`` and terminal priorities; we only read its compiled rules and
terminal definitions and renumber them:

* terminals ``0 .. T-1`` (index into ``CFG.terminals``, the lexer's terminal list),
* nonterminals ``T .. T+N-1``.

Normalisation (as in Bar-Hillel style emptiness checks): an augmented start rule
``$start → S`` is added, and useless symbols (unproductive or unreachable) are removed.
Unit and ε rules are kept; the Earley engine handles them (nullable set, Aycock–Horspool).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import GrammarError


@dataclass
class CFG:
    terminals: list            # list[lexer.Terminal]; index = terminal id
    nonterminals: list         # names; nonterminal k has symbol id T + k
    rules: list                # list[tuple[int, tuple[int, ...]]]: (lhs symbol, rhs symbols)
    start: int                 # symbol id of the augmented start nonterminal ($start)
    nullable: set = field(default_factory=set)
    rules_by_lhs: dict = field(default_factory=dict)

    @property
    def n_terminals(self) -> int:
        return len(self.terminals)

    def is_terminal(self, sym: int) -> bool:
        return sym < len(self.terminals)

    def name(self, sym: int) -> str:
        T = len(self.terminals)
        return self.terminals[sym].name if sym < T else self.nonterminals[sym - T]

    def finish(self) -> "CFG":
        """Remove useless symbols/rules, compute nullable set and the per-lhs index."""
        T = len(self.terminals)
        rules = list(dict.fromkeys(self.rules))  # dedupe, keep order
        # productive
        productive = set(range(T))
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if lhs not in productive and all(s in productive for s in rhs):
                    productive.add(lhs)
                    changed = True
        rules = [(l, r) for l, r in rules if l in productive and all(s in productive for s in r)]
        # reachable
        reach = {self.start}
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if lhs in reach:
                    for s in rhs:
                        if s not in reach:
                            reach.add(s)
                            changed = True
        rules = [(l, r) for l, r in rules if l in reach]
        # the augmented start rule must come first (rule 0)
        rules.sort(key=lambda lr: 0 if lr[0] == self.start else 1)
        self.rules = rules
        nullable = set()
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if lhs not in nullable and all(s in nullable for s in rhs):
                    nullable.add(lhs)
                    changed = True
        self.nullable = nullable
        by = {}
        for i, (lhs, _) in enumerate(rules):
            by.setdefault(lhs, []).append(i)
        self.rules_by_lhs = by
        return self

    @property
    def is_empty_language(self) -> bool:
        return not self.rules or self.rules[0][0] != self.start


_LINECOL = re.compile(r"line (\d+)(?:,)? col(?:umn)? (\d+)", re.I)


def _lark_error(e: Exception) -> GrammarError:
    msg = str(e)
    line = getattr(e, "line", None)
    col = getattr(e, "column", None)
    if line is None or (isinstance(line, int) and line < 0):
        m = _LINECOL.search(msg)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        else:
            line, col = None, None
    return GrammarError(f"invalid Lark grammar: {msg.strip()}", line=line, column=col)


def _lark_compile(text: str, start: str):
    """Lark's grammar loader and EBNF -> BNF compiler: ``(terminals, rules, ignored terminal names)``.

    The same three things ``lark.Lark(text, parser="earley", lexer="basic", start=start)`` computes first; the parser
    and lexer it then builds are never used here (memgram parses with its own engine) and took ~30 % of a JSON Schema
    compile (bench/json_schema_compile.py). Lark's lexer would also compile each terminal's regexp with ``re``; the
    lexer here parses each one with Python's own regex parser anyway (``regex.regex_to_dfa``: invalid ones raise
    ``GrammarError``), so that check is not repeated. Falls back to ``lark.Lark`` if lark's internal loader moves.
    """
    import lark

    try:
        from lark.load_grammar import load_grammar
    except ImportError:  # pragma: no cover - other lark layouts
        lk = lark.Lark(text, parser="earley", lexer="basic", start=start)
        return lk.terminals, lk.rules, lk.ignore_tokens
    grammar, _ = load_grammar(text, "<string>", (), False)
    return grammar.compile([start], set())


def cfg_from_lark(text: str, start: str = "start") -> CFG:
    """Load Lark grammar text with lark's own loader and return a normalised :class:`CFG`."""
    import lark
    from lark.lexer import PatternStr

    from .lexer import Terminal

    try:
        lk_terminals, lk_rules, lk_ignore = _lark_compile(text, start)
    except lark.exceptions.LarkError as e:
        raise _lark_error(e) from None
    except (TypeError, ValueError, KeyError) as e:  # lark raises a few plain errors too
        raise _lark_error(e) from None
    ignored = set(lk_ignore)
    terminals = [Terminal(name=td.name, pattern=td.pattern.to_regexp(), is_literal=isinstance(td.pattern, PatternStr),
                          priority=int(td.priority), ignored=td.name in ignored) for td in lk_terminals]
    rules = [(r.origin.name, tuple(s.name for s in r.expansion)) for r in lk_rules]
    return cfg_from_parts(terminals, rules, start)


def cfg_from_parts(terminals: list, rules: list, start: str) -> CFG:
    """A normalised :class:`CFG` from named parts: ``terminals`` (``lexer.Terminal``, the lexer's list in this order)
    and ``rules`` ``(lhs name, tuple of symbol names)``, where a name is a terminal's if one has it and a
    nonterminal's otherwise; ``start`` names the start nonterminal. Every nonterminal used must have a rule."""
    tindex = {}
    for t in terminals:
        if t.name in tindex:
            raise GrammarError(f"terminal {t.name} defined twice", terminal=t.name)
        tindex[t.name] = len(tindex)
    T = len(terminals)
    nts = ["$start"]
    nindex = {"$start": T}

    def nt(name):
        if name not in nindex:
            nindex[name] = T + len(nts)
            nts.append(name)
        return nindex[name]

    out = [(T, (nt(start),))]
    defined = {lhs for lhs, _ in rules}
    for lhs, rhs in rules:
        out.append((nt(lhs), tuple(tindex[s] if s in tindex else nt(s) for s in rhs)))
    missing = [n for n in nts[1:] if n not in defined]
    if missing:
        raise GrammarError(f"rule {missing[0]!r} is used but not defined")
    return CFG(terminals=list(terminals), nonterminals=nts, rules=out, start=T).finish()

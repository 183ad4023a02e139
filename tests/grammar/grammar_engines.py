"""Engines the grammar tests run against (helper module, not a test file).

* ``lark``: lark's Earley parser with the basic (non-contextual) lexer -- always run; it is the
  interim oracle for the shipped grammars and the JSON-Schema translation.
* ``memgram``: ``memgram.grammar.api.Grammar.from_lark(text, start=...).accepts(text)`` -- run
  whenever the module ``memgram.grammar.api`` exists.  It is imported inside the fixture, so a
  module that exists but fails to import (or to compile a grammar) makes the tests FAIL; it is
  never skipped silently.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import lark

GRAMMAR_DIR = Path(__file__).resolve().parents[2] / "grammar" / "grammars"


def grammar_text(name: str) -> str:
    return (GRAMMAR_DIR / f"{name}.lark").read_text(encoding="utf-8")


def engine_names() -> list[str]:
    names = ["lark"]
    try:
        present = importlib.util.find_spec("memgram.grammar.api") is not None
    except ModuleNotFoundError:  # memgram.grammar itself missing: nothing to test there
        present = False
    if present:
        names.append("memgram")
    return names


def _use_direct_predictions(parser: lark.Lark) -> None:
    """Speed lark's Earley recogniser up ~4x on deep grammars (C++ expression layers).

    lark predicts, for a nonterminal, the whole closure of rules reachable through leftmost
    derivations, and it does so again for every item that expects any nonterminal of the chain:
    quadratic in the chain depth.  Plain Earley prediction (only the nonterminal's own rules; the
    predicted items predict further through the work list, nullable rules through the held
    completions) recognises the same language; test_lark_direct_predictions_equivalent checks
    that both settings agree on the C++ corpus and its mutations.
    """
    earley = parser.parser.parser
    if not hasattr(earley, "predictions"):
        raise AssertionError("unexpected lark internals: no Earley predictions table")
    direct = {}
    for rule in parser.rules:
        direct.setdefault(rule.origin, []).append(rule)
    earley.predictions = {nt: direct.get(nt, []) for nt in earley.predictions}


class LarkEngine:
    name = "lark"

    def __init__(self, text: str, start: str = "start", direct_predictions: bool = True):
        self.parser = lark.Lark(text, parser="earley", lexer="basic", start=start)
        if direct_predictions:
            _use_direct_predictions(self.parser)

    def accepts(self, s: str) -> bool:
        try:
            self.parser.parse(s)
        except lark.exceptions.LarkError:
            return False
        return True


class MemgramEngine:
    name = "memgram"

    def __init__(self, text: str, start: str = "start"):
        from memgram.grammar.api import Grammar  # must import: a broken engine fails the test

        self.grammar = Grammar.from_lark(text, start=start)

    def accepts(self, s: str) -> bool:
        r = self.grammar.accepts(s)
        if not isinstance(r, bool):
            raise AssertionError(f"Grammar.accepts returned {r!r} (expected a bool)")
        return r


def make_engine(name: str, text: str, start: str = "start"):
    if name == "lark":
        return LarkEngine(text, start)
    if name == "memgram":
        return MemgramEngine(text, start)
    raise ValueError(name)

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


class LarkEngine:
    name = "lark"

    def __init__(self, text: str, start: str = "start"):
        self.parser = lark.Lark(text, parser="earley", lexer="basic", start=start)

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

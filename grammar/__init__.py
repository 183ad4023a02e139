"""memgram.grammar: exact output languages (Lark grammars, byte-level lexer automata, completability).

Public API::

    from memgram.grammar import Grammar, HOLE, Hole, GrammarError
"""
from .api import HOLE, Completability, CompletabilitySession, Grammar, Hole, UndecidedError
from .errors import GrammarError, UnsupportedSchemaError

__all__ = ["Grammar", "HOLE", "Hole", "Completability", "CompletabilitySession", "UndecidedError",
           "GrammarError", "UnsupportedSchemaError"]

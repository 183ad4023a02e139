"""Typed errors of memgram.grammar."""
from __future__ import annotations


class GrammarError(Exception):
    """A grammar (Lark text, terminal regex, ...) cannot be used.

    ``line``/``column`` point into the grammar text when known; ``terminal`` names the
    terminal whose pattern is at fault.
    """

    def __init__(self, message, line=None, column=None, terminal=None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.terminal = terminal

    def __str__(self):
        where = []
        if self.terminal is not None:
            where.append(f"terminal {self.terminal}")
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column is not None else ""))
        return self.message + (f" ({'; '.join(where)})" if where else "")


class UnsupportedSchemaError(GrammarError):
    """A JSON Schema keyword that cannot be expressed exactly; names the keyword and its JSON pointer."""

    def __init__(self, message, keyword=None, pointer=None):
        super().__init__(message)
        self.keyword = keyword
        self.pointer = pointer

    def __str__(self):
        return f"{self.message} (keyword {self.keyword!r} at {self.pointer!r})"

"""Lark → CFG conversion and typed errors."""
from __future__ import annotations

import pytest

from memgram.grammar import Grammar, GrammarError
from memgram.grammar.cfg import cfg_from_lark


def test_rules_terminals_ignore_priority():
    cfg = cfg_from_lark("""
start: a+ | "x" b?
a: NAME "=" NUMBER
b: "y"
unused: "zzz"
KW.3: "if"
%import common.CNAME -> NAME
%import common.INT -> NUMBER
%import common.WS
%ignore WS
""")
    names = {t.name: t for t in cfg.terminals}
    assert names["WS"].ignored and not names["NAME"].ignored
    assert names["X"].is_literal and not names["NAME"].is_literal
    T = cfg.n_terminals
    assert cfg.start == T and cfg.rules[0] == (T, (cfg.nonterminals.index("start") + T,))
    lhs_names = {cfg.name(l) for l, _ in cfg.rules}
    assert "unused" not in lhs_names            # unreachable removed
    assert {"start", "a", "b", "$start"} <= lhs_names
    for l, rhs in cfg.rules:
        assert not cfg.is_terminal(l)
        assert all(0 <= s < T + len(cfg.nonterminals) for s in rhs)


def test_priority_kept():
    cfg = cfg_from_lark('start: KW | NAME\nKW.3: "if"\nNAME: /[a-z]+/\n')
    pr = {t.name: t.priority for t in cfg.terminals}
    assert pr["KW"] == 3 and pr["NAME"] == 0


def test_useless_and_nullable():
    cfg = cfg_from_lark('start: a | b\na: "x" a\nb: c "y"\nc: \n')
    names = {cfg.name(l) for l, _ in cfg.rules}
    assert "a" not in names                       # unproductive
    nullable = {cfg.name(s) for s in cfg.nullable}
    assert nullable == {"c"}


def test_empty_language():
    g = Grammar.from_lark('start: a\na: "x" a\n')
    assert not g.accepts("x")
    assert g.completable(["", ]).ok is False


@pytest.mark.parametrize("text,line", [
    ('start: "x" (\n', 1),
    ('start: "x"\n\nfoo: "a" ]\n', 3),
])
def test_malformed_grammar_has_line(text, line):
    with pytest.raises(GrammarError) as ei:
        Grammar.from_lark(text)
    assert ei.value.line == line
    assert ei.value.column is not None


def test_undefined_rule_is_grammar_error():
    with pytest.raises(GrammarError):
        Grammar.from_lark("start: a\n")


def test_unsupported_regex_names_terminal():
    with pytest.raises(GrammarError) as ei:
        Grammar.from_lark("start: X\nX: /a(?=b)/\n")
    assert ei.value.terminal == "X"


def test_empty_matching_terminal_rejected():
    with pytest.raises(GrammarError):
        Grammar.from_lark("start: X\nX: /a*/\n")


def test_gc_paused_restores_the_collector():
    import gc

    from memgram.grammar.api import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()          # the inner pause does not switch it back on early
    assert gc.isenabled()
    try:
        with gc_paused():
            raise ValueError
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()          # a collector the caller had off stays off
    finally:
        gc.enable()
    Grammar.from_lark('start: "a"+')
    assert gc.isenabled()


def test_max_length_of_finite_and_infinite_languages():
    from memgram import Grammar

    g = Grammar.from_lark('start: A B? "!"\nA: /[a-c]{2,5}/\nB: "xy" | "uvw"')
    assert g.max_length() == 5 + 3 + 1
    assert g.accepts("abcab" + "uvw" + "!") and not g.accepts("abcabc" + "uvw" + "!")
    assert Grammar.from_lark('start: "a" start | "b"').max_length() is None                 # recursion adds bytes
    assert Grammar.from_lark('start: A\nA: /a+/').max_length() is None                       # unbounded terminal
    assert Grammar.from_lark('start: "a" "b"\n%ignore " "').max_length() is None             # ignored whitespace
    assert Grammar.from_lark('start: a\na: b | "x"\nb: a | "yy"').max_length() == 2            # unit cycle adds nothing


def test_max_length_of_a_bounded_json_schema_is_attained():
    from memgram import Grammar

    schema = {"type": "object", "properties": {"tags": {"type": "array", "maxItems": 2,
                                                        "items": {"enum": ["low", "critical"]}},
                                               "id": {"type": "string", "pattern": "^[a-z]{1,4}$"}},
              "required": ["tags", "id"], "additionalProperties": False}
    g = Grammar.from_json_schema(schema, whitespace="compact")
    longest = '{"tags":["critical","critical"],"id":"abcd"}'
    assert g.accepts(longest) and g.max_length() == len(longest)

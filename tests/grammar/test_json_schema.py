"""JSON Schema -> grammar (grammar/json_schema.py) against the `jsonschema` validator.

Engines: lark's Earley parser with the ``dynamic_complete`` lexer (the schema grammars have
regex terminals that match the same lexeme -- a key /"name"/ and the generic STRING -- which the
documented lexing keeps as alternatives; lark's basic lexer would pick one, its dynamic lexer
tries every terminal the parser expects, which coincides with longest-match lexing on these
JSON grammars because JSON tokens are self-delimiting and two number tokens are never adjacent),
and memgram's ``Grammar.from_lark`` when ``memgram.grammar.api`` exists.

Instances are serialized with json.dumps(ensure_ascii=False) compactly, with the default
separators and indented; numbers are ints or floats with a fraction and without exponent, the
spellings the documented restrictions of json_schema.py keep (tests below check that the
restrictions reject, never admit, the other spellings).
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import random
import re

import jsonschema
import lark

try:  # Python >= 3.11
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgram.grammar.errors import UnsupportedSchemaError
from memgram.grammar.json_schema import (
    FORMATS,
    _lark_form,
    MAX_ANY_ORDER_PROPERTIES,
    _bounded_number_regex,
    _pattern_body,
    integer_range_regex,
    schema_to_cfg,
    schema_to_lark,
)

from .grammar_engines import MemgramEngine, engine_names

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


class LarkDynamic:
    def __init__(self, text, start):
        self.parser = lark.Lark(text, parser="earley", lexer="dynamic_complete", start=start)

    def accepts(self, s):
        try:
            self.parser.parse(s)
        except lark.exceptions.LarkError:
            return False
        return True


def make(engine_name, text, start):
    if engine_name == "lark":
        return LarkDynamic(text, start)
    return MemgramEngine(text, start)


def valid(schema, inst) -> bool:
    """The validator of the schema's ``$schema`` draft (2020-12 without one: ``dependencies`` is a draft-7 keyword)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=FORMAT_CHECKER).is_valid(inst)


def forms(inst):
    return [
        json.dumps(inst, ensure_ascii=False, separators=(",", ":")),
        json.dumps(inst, ensure_ascii=False),
        json.dumps(inst, ensure_ascii=False, indent=2),
    ]


# ---------------------------------------------------------------- the schema suite
CASES = [
    ("string", {"type": "string"}, ["", "a", 'q"uo\\te\n', "é😀"], [1, None, ["a"]]),
    ("not_enum", {"type": "string", "not": {"enum": ["test", "source", 3]}}, ["tests", "", "sourc", "Test"],
     ["test", "source", 3, None]),
    ("not_const_bounded_pattern", {"type": "string", "pattern": "^[a-z]+[a-z0-9-]*$", "minLength": 2,
                                   "not": {"enum": ["test", "include"]}},
     ["tests", "ab-1"], ["test", "include", "a", "Ab"]),
    ("not_pattern_on_pattern", {"type": "string", "pattern": "^ghlint-[a-z]+$", "not": {"pattern": "plugin$"}},
     ["ghlint-abc", "ghlint-plugins"], ["ghlint-plugin", "ghlint-", "x"]),
    ("oneof_everything_but", {"oneOf": [{"enum": ["a", "b/c"]}, {}]}, ["c", 1, None, {"a": "a"}, ["a"], True],
     ["a", "b/c"]),
    ("not_const_any", {"not": {"const": "x"}}, ["y", 2, [], {"x": "x"}], ["x"]),
    ("oneof_typed_everything_but", {"type": "string", "oneOf": [{}, {"enum": ["/usr/bin/nano"]}]},
     ["/usr/bin/vim", ""], ["/usr/bin/nano", 3, None]),
    ("multiple_one_bounded", {"type": "number", "minimum": 1, "maximum": 5, "multipleOf": 1.0}, [1, 3, 5],
     [0, 6, 2.5, "3"]),
    ("multiple_hundredth", {"type": "number", "multipleOf": 0.01}, [0, 12, 1.25, -0.5], [1.255, "1"]),
    ("multiple_twenty", {"type": "integer", "multipleOf": 20}, [0, 20, -140, 1000], [10, 30, 25]),
    ("dep_required", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {}},
                      "dependentRequired": {"a": ["b"]}},
     [{}, {"b": 1}, {"a": 1, "b": 2}, {"c": 1, "b": 1, "a": 3}], [{"a": 1}, {"a": 1, "c": 2}]),
    ("dep_exclusive", {"$schema": "http://json-schema.org/draft-07/schema#",
                       "type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"},
                                                       "z": {"not": {}}},
                       "dependencies": {"x": {"properties": {"y": {"not": {}}}}, "y": {"properties": {"x": False}}}},
     [{}, {"x": "a"}, {"y": "b"}, {"x": "a", "w": 1}], [{"x": "a", "y": "b"}, {"y": "b", "x": "a"}, {"z": 1}]),
    ("dep_schema_required", {"$schema": "http://json-schema.org/draft-07/schema#",
                             "type": "object", "properties": {"p": {}, "q": {}},
                             "dependencies": {"p": {"required": ["q"]}, "q": ["p"]}},
     [{}, {"p": 1, "q": 2}, {"q": 2, "p": 1}], [{"p": 1}, {"q": 1}]),
    ("pattern_props_with_additional", {"type": "object", "properties": {"id": {"type": "integer"}},
                                       "patternProperties": {"^x-": {"type": "string"}},
                                       "additionalProperties": {"type": "integer"}},
     [{"id": 1, "x-a": "s", "b": 2}, {}, {"x-": ""}, {"y-x-": 3}], [{"x-a": 1}, {"b": "s"}, {"id": "1"}, {"x-b\n": 2}]),
    ("pattern_props_additional_any", {"type": "object", "patternProperties": {"^n_": {"type": "number"}}},
     [{"n_a": 1, "z": "any"}, {"a": [1]}], [{"n_a": "x"}, {"n_\"": "x"}]),
    ("not_length", {"type": "string", "not": {"maxLength": 2}}, ["abc", "h\u00e9\u00e9"], ["ab", "", "\u00e9"]),
    ("integer", {"type": "integer"}, [0, -5, 123456789], [1.5, "1", True, None]),
    ("number", {"type": "number"}, [0, -2.5, 3, 0.001], ["x", None, [1]]),
    ("boolean_null", {"type": ["boolean", "null"]}, [True, False, None], [0, "true", []]),
    ("true_schema", True, [1, "x", None, {"a": [1, {"b": None}]}], []),
    ("empty_schema", {}, [[], {}, -1.5, "s"], []),
    ("enum_mixed", {"enum": ["red", "green", 3, None, [1, 2], {"k": "v"}]},
     ["red", "green", 3, None, [1, 2], {"k": "v"}], ["blue", 4, [2, 1], {"k": "w"}, "Red"]),
    ("const_string", {"const": "fixed"}, ["fixed"], ["fixe", "fixed ", 1]),
    ("enum_typed", {"type": "string", "enum": ["a", 1, "b"]}, ["a", "b"], [1, "c"]),
    ("int_range", {"type": "integer", "minimum": -15, "maximum": 150},
     [-15, -9, 0, 7, 99, 100, 150], [-16, 151, 1000, -100, 2.5]),
    ("int_exclusive", {"type": "integer", "exclusiveMinimum": 9, "exclusiveMaximum": 1000},
     [10, 11, 500, 999], [9, 1000, 0, -1]),
    ("int_min_only", {"type": "integer", "minimum": 37}, [37, 38, 99, 100, 12345], [36, 0, -40]),
    ("number_range", {"type": "number", "minimum": -1, "exclusiveMaximum": 10},
     [-1, -0.5, 0, 9.999, 3], [-1.001, 10, 10.5, -2]),
    ("string_len", {"type": "string", "minLength": 2, "maxLength": 4},
     ["ab", "abcd", "é😀", 'a"'], ["a", "abcde", ""]),
    ("pattern_unanchored", {"type": "string", "pattern": "[0-9]{3}"},
     ["abc123", "999", "x1234y"], ["12", "ab-12", "1a2b3c"]),
    ("pattern_anchored", {"type": "string", "pattern": "^[A-Z][a-z]+(-[A-Z][a-z]+)*$"},
     ["Anna", "Jean-Luc"], ["anna", "Jean-", "A", "Jean Luc"]),
    ("pattern_length", {"type": "string", "pattern": "^[a-zé]+$", "minLength": 2, "maxLength": 4},
     ["ab", "abcd", "éé", "aéaé"], ["a", "abcde", "AB", "ééééé", 1]),
    ("pattern_unanchored_length", {"type": "string", "pattern": "ab", "maxLength": 3},
     ["ab", "xab", "abx"], ["xxab", "", "abab", "a"]),
    ("format_length", {"type": "string", "format": "ipv4", "maxLength": 9},
     ["1.2.3.4", "10.0.0.1", "100.0.0.1"], ["100.0.0.10", "1.2.3", "1.2.3.45x"]),
    ("forbidden_property", {"type": "object", "properties": {"a": {"type": "integer"}, "b": False}},
     [{"a": 1}, {"c": 2}, {}, {"bb": 1, "a": 2}], [{"b": 1}, {"a": 1, "b": None}, {"a": "x"}]),
    ("format_date", {"type": "string", "format": "date"},
     ["2024-02-29", "2023-12-31", "0001-01-01"], ["2023-02-29", "2023-13-01", "2023-1-01", "1900-02-29"]),
    ("format_ipv4", {"type": "string", "format": "ipv4"},
     ["127.0.0.1", "255.255.255.255", "0.0.0.0"], ["256.0.0.1", "1.2.3", "01.2.3.4"]),
    ("format_uuid", {"type": "string", "format": "uuid"},
     ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000", "xyz"]),
    ("object_basic", {"type": "object", "properties": {"name": {"type": "string"},
                                                       "age": {"type": "integer", "minimum": 0}},
                      "required": ["name"]},
     [{"name": "x"}, {"name": "name", "age": 3}, {"age": 3, "name": "age"}, {"name": "x", "extra": [1]}],
     [{}, {"age": 3}, {"name": 1}, {"name": "x", "age": -1}]),
    ("object_closed", {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"},
                                                        "c": {"type": "number"}},
                       "required": ["a", "c"], "additionalProperties": False},
     [{"a": True, "c": 1}, {"c": 2.5, "a": False, "b": None}, {"b": None, "a": True, "c": 0}],
     [{"a": True}, {"a": True, "c": 1, "d": 1}, {"a": 1, "c": 1}, {}]),
    ("object_additional_schema", {"type": "object", "properties": {"id": {"type": "integer"}},
                                  "additionalProperties": {"type": "string"}},
     [{}, {"id": 1}, {"x": "y", "id": 2, "z": ""}, {"ids": "s"}],
     [{"id": "1"}, {"x": 1}, {"id": 1, "y": None}]),
    ("pattern_properties", {"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
                            "properties": {"name": {"type": "string"}}, "additionalProperties": False},
     [{}, {"x-a": 1, "name": "n"}, {"x-abc": 2, "x-b": 3}], [{"x-A": 1}, {"x-a": "1"}, {"y": 1}]),
    ("array_items", {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
     [[1], [1, 2, 3]], [[], [1, 2, 3, 4], ["1"], [1.5]]),
    ("array_prefix", {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                      "items": False},
     [[], ["a"], ["a", 1]], [[1], ["a", "b"], ["a", 1, 2]]),
    ("array_prefix_rest", {"type": "array", "prefixItems": [{"const": "op"}], "items": {"type": "number"},
                           "minItems": 2},
     [["op", 1], ["op", 1, 2.5, 3]], [["op"], ["x", 1], ["op", "1"]]),
    ("any_of", {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 10}]},
     ["", "ab", 10, 99], ["abc", 9, None]),
    ("one_of_types", {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
     ["s", [], ["a", "b"]], [1, [1], None]),
    ("one_of_discriminator", {"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
         "required": ["kind", "r"], "additionalProperties": False},
        {"type": "object", "properties": {"kind": {"const": "rect"}, "w": {"type": "number"},
                                          "h": {"type": "number"}},
         "required": ["kind", "w", "h"], "additionalProperties": False}]},
     [{"kind": "circle", "r": 1}, {"h": 2, "kind": "rect", "w": 1}],
     [{"kind": "circle", "w": 1, "h": 2}, {"kind": "square", "r": 1}, {"kind": "rect", "w": 1}]),
    ("all_of_merge", {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                {"properties": {"b": {"type": "string"}}, "required": ["b"]},
                                {"properties": {"a": {"minimum": 0}}}]},
     [{"a": 0, "b": ""}, {"b": "x", "a": 5, "c": None}], [{"a": -1, "b": ""}, {"a": 1}, {"a": 1, "b": 2}]),
    ("ref_defs", {"$defs": {"pos": {"type": "integer", "minimum": 1}},
                  "type": "array", "items": {"$ref": "#/$defs/pos"}},
     [[], [1, 2, 300]], [[0], [-1], ["1"]]),
    ("recursive_tree", {"$defs": {"node": {"type": "object", "properties": {
        "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["value"], "additionalProperties": False}}, "$ref": "#/$defs/node"},
     [{"value": 1}, {"value": 1, "children": [{"value": 2, "children": []}, {"children": [], "value": 3}]}],
     [{"value": 1, "children": [{}]}, {"children": []}, {"value": 1, "children": [{"value": "2"}]}]),
    ("recursive_root", {"definitions": {}, "type": ["array", "integer"], "items": {"$ref": "#"}},
     [1, [], [1, [2, [3]]]], ["1", [1, ["x"]]]),
    ("nested_required", {"type": "object", "properties": {
        "user": {"type": "object", "properties": {"email": {"type": "string", "format": "email"},
                                                  "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
                 "required": ["email"]}}, "required": ["user"]},
     [{"user": {"email": "a@b.co"}}, {"user": {"email": "x.y@z.org", "tags": ["a", "a", "b"]}}],
     [{"user": {}}, {"user": {"email": "a@b.co", "tags": ["c"]}}, {}]),
    ("untyped_min_length", {"minLength": 2}, [1, "ab", None, [1], {"a": 1}], ["a", ""]),
    ("required_undeclared", {"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}},
     [{"x": 1}, {"x": 1, "y": 2}], [{}, {"y": 1}, {"x": "1"}]),
    ("forbidden_property", {"type": "object", "properties": {"a": {"type": "integer"}, "b": False},
                            "additionalProperties": False},
     [{}, {"a": 1}], [{"b": 1}, {"a": 1, "b": None}]),
    ("any_of_siblings", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                         "anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
     [{"a": 1}, {"b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "c": None}], [{}, {"c": 1}, {"a": "1"}]),
    ("enum_objects_any_order", {"enum": [{"x": 1, "y": [True]}, {"x": 2}]},
     [{"x": 1, "y": [True]}, {"y": [True], "x": 1}, {"x": 2}], [{"x": 1}, {"x": 2, "y": [True]}, {"x": 1.5}]),
    ("all_of_items", {"type": "array", "allOf": [{"items": {"type": "integer"}}, {"items": {"minimum": 0}},
                                                 {"maxItems": 2}]},
     [[], [0, 5]], [[-1], [1, 2, 3], ["a"]]),
    ("one_of_enums", {"oneOf": [{"enum": [1, "a"]}, {"enum": [2, "b"]}, {"type": "boolean"}]},
     [1, "a", 2, "b", True], [3, "c", None]),
    ("annotations_ignored", {"title": "T", "description": "D", "examples": [1], "default": 1,
                             "$comment": "c", "deprecated": False, "readOnly": True, "type": "integer"},
     [1, -1], ["1"]),
]

IDS = [c[0] for c in CASES]
ENGINES = engine_names()
_CACHE: dict = {}


class MemgramDirect(MemgramEngine):
    """memgram's grammar as users get it: ``Grammar.from_json_schema`` (the direct build, which also has the terminals
    that lark text can only write with a lookahead; test_direct_build_is_what_lark_loads ties it to the lark text)."""

    def __init__(self, schema, **opts):
        from memgram.grammar.api import Grammar

        self.grammar = Grammar.from_json_schema(schema, **opts)


def grammar_for(engine_name, schema, whitespace="flexible", strict=False):
    key = (engine_name, json.dumps(schema, sort_keys=True), whitespace, strict)
    if key not in _CACHE:
        if engine_name == "memgram":
            _CACHE[key] = MemgramDirect(schema, whitespace=whitespace, strict_key_order=strict)
        else:
            text, start = schema_to_lark(schema, whitespace=whitespace, strict_key_order=strict)
            _CACHE[key] = make(engine_name, text, start)
    return _CACHE[key]


_POOL = [None, True, False, 0, 1, -1, 7, 150, 151, -16, 2.5, -0.5, "", "a", "ab", "abc", "name",
         "2024-02-29", "127.0.0.1", [], {}, [1, "a"], {"a": 1}, ["a"], {"value": 1}]


def _variants(inst, rng, n):
    """Random edits of a valid instance (the validator decides which are valid)."""
    out = []
    for _ in range(n):
        x = copy.deepcopy(inst)
        r = rng.random()
        if isinstance(x, dict) and x and r < 0.3:
            del x[rng.choice(sorted(x))]
        elif isinstance(x, dict) and r < 0.6:
            x[rng.choice(["a", "b", "name", "zz", "value", "kind"])] = rng.choice(_POOL)
        elif isinstance(x, dict) and x:
            k = rng.choice(sorted(x))
            x[k] = rng.choice(_POOL)
        elif isinstance(x, list) and x and r < 0.4:
            x.pop(rng.randrange(len(x)))
        elif isinstance(x, list):
            x.insert(rng.randrange(len(x) + 1), rng.choice(_POOL))
        else:
            x = rng.choice(_POOL)
        out.append(x)
    return out


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("name,schema,good,bad", CASES, ids=IDS)
def test_schema_agrees_with_jsonschema(engine_name, name, schema, good, bad):
    for inst in good:
        assert valid(schema, inst), ("test data", name, inst)
    for inst in bad:
        assert not valid(schema, inst), ("test data", name, inst)
    rng = random.Random(name)
    instances = list(good) + list(bad)
    for inst in good:
        instances += _variants(inst, rng, 6)
    g = grammar_for(engine_name, schema)
    for inst in instances:
        expected = valid(schema, inst)
        for doc in forms(inst):
            assert g.accepts(doc) == expected, (name, doc, expected)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("name,schema,good,bad", CASES[::3], ids=IDS[::3])
def test_compact_whitespace(engine_name, name, schema, good, bad):
    g = grammar_for(engine_name, schema, whitespace="compact")
    for inst in list(good) + list(bad):
        compact, spaced, indented = forms(inst)
        expected = valid(schema, inst)
        assert g.accepts(compact) == expected, (name, compact)
        if spaced != compact:  # whitespace between tokens is not allowed at all
            assert not g.accepts(spaced), (name, spaced)
        assert not g.accepts(" " + compact) and not g.accepts(compact + "\n")


def test_key_value_lexeme_overlap():
    """A string value spelling a declared key is still a STRING (regex terminals stay candidates)."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "kind": {"enum": ["name", "kind"]}},
              "additionalProperties": {"type": "string"}}
    for e in ENGINES:
        g = grammar_for(e, schema)
        for inst in [{"name": "name"}, {"kind": "name", "name": "kind"}, {"name": "kind", "other": "name"}]:
            assert g.accepts(json.dumps(inst)), (e, inst)
        assert not g.accepts(json.dumps({"kind": "other"}))
        assert not g.accepts('{"name":"a","name":"b"}')  # a declared key at most once


# ---------------------------------------------------------------- the direct build
def assert_same_cfg(direct, loaded):
    """``schema_to_cfg`` gives the grammar lark's loader makes of ``schema_to_lark``'s text: the same terminals (by
    name: kind, priority, ignored, and a pattern of the same language: lark evaluates escapes such as ``\\x00`` in a
    /regex/ literal into the characters themselves) and the same rules (by symbol names)."""
    from memgram.grammar.regex import regex_to_dfa, regexes_to_dfa

    td, tl = {t.name: t for t in direct.terminals}, {t.name: t for t in loaded.terminals}
    assert td.keys() == tl.keys()
    for name, a in td.items():
        b = tl[name]
        assert (a.is_literal, a.priority, a.ignored, b.also, b.minus) == (b.is_literal, b.priority, b.ignored, None,
                                                                          None), name
        if a.also is not None or (a.minus is not None and "(?!" in b.pattern):
            # lark reads it as one regex with lookaheads: the same parse as ours once lark evaluated escapes
            assert repr(sre_parse.parse(b.pattern)) == repr(sre_parse.parse(_lark_form(a.pattern, a.also, a.minus))), name
            continue
        if a.minus is not None:  # lark gets the difference written out as one regex: the same language
            assert regexes_to_dfa(a.pattern, None, a.minus).equivalent(regex_to_dfa(b.pattern)), name
            continue
        assert a.pattern == b.pattern or regex_to_dfa(a.pattern).equivalent(regex_to_dfa(b.pattern)), name

    def rules(g):
        return sorted((g.name(lhs), tuple(g.name(s) for s in rhs)) for lhs, rhs in g.rules)

    assert rules(direct) == rules(loaded)
    assert {direct.name(s) for s in direct.nullable} == {loaded.name(s) for s in loaded.nullable}


@pytest.mark.parametrize("name,schema,good,bad", CASES, ids=IDS)
def test_direct_build_is_what_lark_loads(name, schema, good, bad):
    from memgram.grammar.cfg import cfg_from_lark

    for opts in ({}, {"whitespace": "compact"}, {"strict_key_order": True}):
        try:
            direct = schema_to_cfg(schema, **opts)
        except UnsupportedSchemaError:      # (dependencies in declared order): both builds refuse it
            assert opts and pytest.raises(UnsupportedSchemaError, schema_to_lark, schema, **opts)
            continue
        assert_same_cfg(direct, cfg_from_lark(*schema_to_lark(schema, **opts)))


def test_from_json_schema_uses_the_direct_build(monkeypatch):
    from memgram.grammar import Grammar
    from memgram.grammar import cfg as cfg_mod

    monkeypatch.setattr(cfg_mod, "_lark_compile", lambda *a: pytest.fail("lark's loader was called"))
    g = Grammar.from_json_schema(ORDER_SCHEMA)
    assert g.accepts('{"c": 1, "a": 2}') and not g.accepts('{"a": 1}')


# ---------------------------------------------------------------- key order
ORDER_SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                                 "c": {"type": "integer"}},
                "required": ["a", "c"]}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_any_order_and_strict_order(engine_name):
    anyo = grammar_for(engine_name, ORDER_SCHEMA)
    strict = grammar_for(engine_name, ORDER_SCHEMA, strict=True)
    for perm in itertools.permutations("abc"):
        doc = "{" + ",".join(f'"{k}":1' for k in perm) + "}"
        assert anyo.accepts(doc), doc
        assert strict.accepts(doc) == (perm == ("a", "b", "c")), doc
    assert strict.accepts('{"a":1,"c":2}') and not strict.accepts('{"c":2,"a":1}')
    assert strict.accepts('{"a":1,"x":"extra","c":2}')  # additional properties anywhere
    for g in (anyo, strict):
        assert not g.accepts('{"a":1,"a":1,"c":2}')      # duplicates of a declared key
        assert not g.accepts('{"a":1}')                   # missing required key


def test_many_properties_need_strict_order():
    props = {f"p{i}": {"type": "integer"} for i in range(MAX_ANY_ORDER_PROPERTIES + 1)}
    schema = {"type": "object", "properties": props}
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_lark(schema)
    assert ei.value.keyword == "properties" and ei.value.pointer == "/properties"
    g = grammar_for(ENGINES[-1], schema, strict=True)
    doc = json.dumps({k: 1 for k in props})
    assert g.accepts(doc) and not g.accepts(json.dumps({k: 1 for k in reversed(props)}))
    ok = {f"p{i}": {"type": "integer"} for i in range(MAX_ANY_ORDER_PROPERTIES)}
    schema_to_lark({"type": "object", "properties": ok})  # the limit itself compiles


# ---------------------------------------------------------------- documented restrictions
@pytest.mark.parametrize("engine_name", ENGINES)
def test_documented_restrictions_only_reject(engine_name):
    """Spellings outside the documented subsets are rejected although jsonschema accepts them."""
    cases = [
        ({"type": "integer"}, "1.0"),
        ({"type": "integer"}, "1e2"),
        ({"type": "number", "maximum": 10}, "1e0"),
        ({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, '{"\\u0061":1}'),
        ({"const": "a"}, '"\\u0061"'),
        ({"type": "string", "pattern": "a"}, '"\\u0061"'),
    ]
    for schema, doc in cases:
        assert valid(schema, json.loads(doc)), doc
        assert not grammar_for(engine_name, schema).accepts(doc), doc


@pytest.mark.parametrize("engine_name", ENGINES)
def test_restrictions_never_admit_invalid_keys(engine_name):
    """With declared keys, an escaped spelling of a declared key cannot sneak in as 'additional'."""
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    g = grammar_for(engine_name, schema)
    assert not g.accepts('{"\\u0061":"not an integer"}')
    assert not valid(schema, json.loads('{"\\u0061":"not an integer"}'))
    assert g.accepts('{"b":"x","\\n":1}')


# ---------------------------------------------------------------- unsupported keywords
@pytest.mark.parametrize("schema,keyword,pointer", [
    ({"not": {"type": "string"}}, "not", "/not"),
    ({"type": "object", "properties": {"a": {"not": {"type": "object"}}}}, "not", "/properties/a/not"),
    ({"type": "array", "items": {"type": "object", "properties": {"x": {"multipleOf": 3}}}},
     "multipleOf", "/items/properties/x/multipleOf"),
    ({"if": {}, "then": {}}, "if", "/if"),
    ({"type": "object", "minProperties": 1}, "minProperties", "/minProperties"),
    ({"type": "array", "contains": {}}, "contains", "/contains"),
    ({"type": "array", "uniqueItems": True}, "uniqueItems", "/uniqueItems"),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, "oneOf", "/oneOf"),
    ({"oneOf": [{"type": "string"}, {"minLength": 2}]}, "oneOf", "/oneOf"),
    ({"type": "string", "pattern": "a\\bb"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": "a^b"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": "(a)\\1"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": "(?=a)"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": 'say "hi"'}, "pattern", "/pattern"),
    ({"type": "string", "format": "ipv6"}, "format", "/format"),
    ({"type": "string", "format": "date", "maxLength": 9}, "format", "/format"),      # no date is that short
    ({"properties": {"a": {"pattern": "^x{5}$", "minLength": 6}}}, "pattern", "/properties/a/pattern"),
    ({"type": "number", "minimum": 0.5}, "minimum", "/minimum"),
    ({"$ref": "http://example.com/s.json"}, "$ref", "/$ref"),
    ({"$defs": {"a": {"dependentSchemas": {}}}, "$ref": "#/$defs/a"}, "dependentSchemas",
     "/$defs/a/dependentSchemas"),
    ({"properties": {"a/b": {"propertyNames": {}}}}, "propertyNames", "/properties/a~1b/propertyNames"),
    (False, "false", "/"),
    ({"allOf": [{"additionalProperties": False}, {"properties": {"a": {}}}]}, "allOf", "/allOf"),
    ({"allOf": [{"prefixItems": [{}]}, {"items": False}]}, "allOf", "/allOf"),
    ({"oneOf": [{"const": 1}, {"const": 1.0}]}, "oneOf", "/oneOf"),
    ({"oneOf": [{"enum": [1, "a"]}, {"type": "integer"}]}, "oneOf", "/oneOf"),
    ({"type": "object", "patternProperties": {"^a": {"type": "string"}, "^b": {"type": "integer"}}},
     "patternProperties",
     "/patternProperties"),
])
def test_unsupported_raise_with_pointer(schema, keyword, pointer):
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_lark(schema)
    assert ei.value.keyword == keyword
    assert ei.value.pointer == pointer


def test_keywords_of_no_vocabulary_are_ignored_as_validators_ignore_them():
    """Real-world schemas carry draft-4 ``id``, OpenAPI-style ``example`` and tool keywords: they constrain nothing
    (jsonschema ignores them), so they neither raise nor change the language; an unsupported assertion keyword next to
    them, or in a $ref target that has them, still raises."""
    plain = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"$ref": "#/definitions/s"}},
             "required": ["a"], "definitions": {"s": {"type": "string", "maxLength": 3}}}
    noisy = copy.deepcopy(plain)
    noisy.update({"id": "http://example.com/s.json", "@context": {"x": 1}, "x-kind": "demo"})
    noisy["properties"]["a"].update({"example": 3, "_uniqueItems": True})
    noisy["properties"]["b"]["example"] = "abc"               # a $ref with an ignored sibling is still a bare $ref
    noisy["definitions"]["s"]["id"] = "#s"
    assert schema_to_lark(noisy) == schema_to_lark(plain)
    for inst in [{"a": 1}, {"a": 1, "b": "xyz"}, {"a": 1, "b": "wxyz"}, {"b": "x"}, {"a": "1"}]:
        for e in ENGINES:
            assert grammar_for(e, noisy).accepts(json.dumps(inst)) == valid(noisy, inst), (e, inst)
    assert schema_to_lark({"type": "string", "format": "datetime"}) == schema_to_lark({"type": "string"})
    g = grammar_for(ENGINES[-1], {"type": "string", "format": "jsonpath", "maxLength": 2})   # not a draft's format
    assert g.accepts('"ab"') and not g.accepts('"abc"')
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_lark({"id": "x", "type": "integer", "multipleOf": 3})
    assert (ei.value.keyword, ei.value.pointer) == ("multipleOf", "/multipleOf")
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_lark({"$ref": "#/definitions/n", "definitions": {"n": {"example": 1, "not": {}}}})
    assert (ei.value.keyword, ei.value.pointer) == ("not", "/definitions/n/not")


# ---------------------------------------------------------------- building blocks vs brute force
def test_integer_range_regex_brute_force():
    rng = random.Random(7)
    bounds = [(0, 0), (0, 9), (1, 10), (5, 5), (0, 100), (19, 1000), (37, None), (0, None),
              (123, 4567), (999, 1001)]
    bounds += [(a, a + rng.randrange(3000)) for a in (rng.randrange(2000) for _ in range(20))]
    for lo, hi in bounds:
        r = re.compile(integer_range_regex(lo, hi))
        top = (hi if hi is not None else lo + 2000) + 50
        for n in range(0, top):
            s = str(n)
            assert bool(r.fullmatch(s)) == (n >= lo and (hi is None or n <= hi)), (lo, hi, n)
            assert r.match(s).group() == s if r.fullmatch(s) else True  # first match is the longest
        for s in ("00", "01", "-1", "007"):
            assert not r.fullmatch(s)
    assert integer_range_regex(5, 4) is None


def _decimal_strings():
    out = set()
    for i in range(-25, 26):
        out.add(str(i))
        for f in ("0", "00", "5", "05", "50", "001", "999"):
            out.add(f"{i}.{f}")
    out |= {"-0", "-0.0", "-0.5", "0.0"}
    return sorted(out)


@pytest.mark.parametrize("lo,lo_open,hi,hi_open", [
    (0, False, 10, False), (0, True, 10, True), (-5, False, 5, True), (-10, True, -2, False),
    (None, False, 3, False), (-3, True, None, False), (2, False, 2, False), (2, True, 3, False),
    (-7, False, None, False), (None, False, -4, True), (0, False, 0, True),
])
@pytest.mark.parametrize("integer", [False, True])
def test_bounded_number_regex_brute_force(lo, lo_open, hi, hi_open, integer):
    from decimal import Decimal

    r = _bounded_number_regex(lo, lo_open, hi, hi_open, integer)
    rx = re.compile(r) if r is not None else None
    for s in _decimal_strings():
        v = Decimal(s)
        ok = (lo is None or (v > lo if lo_open else v >= lo)) and (hi is None or (v < hi if hi_open else v <= hi))
        if integer:
            ok = ok and "." not in s
        if s.startswith("-") and v == 0:  # documented: negative zero spellings are not produced
            ok = False
        assert bool(rx and rx.fullmatch(s)) == ok, (s, lo, lo_open, hi, hi_open, integer)


PATTERNS = ["a", "^a", "a$", "^ab*c?$", "[0-9]{2,3}", "(ab|cd)+", "x.y", "[^a-c]", "\\d\\s\\w",
            "^[A-Za-z_][A-Za-z0-9_]*$", "\\D\\S\\W", "colou?r", "[é-ü]", "(?:a|)b", "a{2}", "[\\s,]",
            "[\\x00-z]",
            # anchors inside groups and alternatives
            "^([^,]|$)", "^(\\d{2}(-\\d)?$)|(^\\d-\\d$)", "a|^b|c$", "(^a|b)(c|z$)", "(a|$)b", "^(a|)b$", "^$"]
ALPHABET = "abcxyz019_ ,é\"\\\n\t-"


@settings(max_examples=200, deadline=None)
@given(p=st.sampled_from(PATTERNS), v=st.text(alphabet=ALPHABET, max_size=6))
def test_pattern_translation_matches_re_search(p, v):
    body = re.compile(_pattern_body(p))
    raw_ok = not any(c in v for c in '"\\') and not any(ord(c) < 0x20 for c in v)
    expected = raw_ok and re.search(p, v) is not None
    assert bool(body.fullmatch(v)) == expected, (p, v, body.pattern)


@settings(max_examples=300, deadline=None)
@given(p=st.sampled_from(PATTERNS + ["\\s", "[^a]", "x|\\n", "[a-c\\\\]", "b$"]),
       v=st.text(alphabet=ALPHABET, max_size=6))
def test_canonical_pattern_translation_matches_re_search(p, v):
    """Over canonical spellings (escapes included), the translation matches exactly the values ``re.search`` does
    (the additional keys beside patternProperties are the canonical strings minus these)."""
    body = re.compile(_pattern_body(p, canonical=True))
    spelled = json.dumps(v, ensure_ascii=False)[1:-1]
    assert bool(body.fullmatch(spelled)) == (re.search(p, v) is not None), (p, v, body.pattern)


FORMAT_CASES = {
    "date": (["2024-02-29", "2000-02-29", "1999-01-31", "2023-04-30"],
             ["1900-02-29", "2023-04-31", "2023-00-10", "0000-01-01", "2023-1-1", "20230101"]),
    "time": (["12:34:56Z", "23:59:60+01:00", "00:00:00.123-05:30", "08:00:00z"],
             ["24:00:00Z", "12:60:00Z", "12:34:56", "1:02:03Z", "12:34:56+1:00"]),
    "date-time": (["2024-02-29T12:00:00Z", "1999-12-31t23:59:59.5+02:00"],
                  ["2024-02-30T12:00:00Z", "2024-02-29 12:00:00Z", "2024-02-29T12:00Z"]),
    "email": (["a@b.co", "first.last+tag@sub.example.org"], ["a@", "@b.co", "a b@c.d", "a@b..c", "a..b@c.d"]),
    "uuid": (["123e4567-e89b-12d3-a456-426614174000", "ABCDEF01-2345-6789-abcd-ef0123456789"],
             ["123e4567-e89b-12d3-a456-42661417400", "123e4567e89b-12d3-a456-426614174000-", "g23e4567-e89b-12d3-a456-426614174000"]),
    "ipv4": (["1.2.3.4", "10.0.0.255", "0.0.0.0"], ["1.2.3.256", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d"]),
    "hostname": (["example.com", "a", "my-host.local", "x1.y2.z3"], ["-a.com", "a-.com", "a..b", "a_b.com", ""]),
    "uri": (["https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:x@y.z"],
            ["example.com", "://x", "1http://x", "http://a b"]),
    "uri-reference": (["", "a/b", "../x?y#z", "//host/p", "https://example.com/a", "#frag", "/abs:ok"],
                      ["1a:b", "a b", "x:y z", "{x}"]),
}


@pytest.mark.parametrize("fmt", sorted(FORMAT_CASES))
def test_format_regexes(fmt):
    good, bad = FORMAT_CASES[fmt]
    r = re.compile(FORMATS[fmt])
    for s in good:
        assert r.fullmatch(s), (fmt, s)
    for s in bad:
        assert not r.fullmatch(s), (fmt, s)
    if fmt in ("date", "ipv4", "uuid"):  # the formats jsonschema checks exactly here
        for s in good + bad:
            assert (r.fullmatch(s) is not None) == valid({"format": fmt}, s), (fmt, s)


def test_date_regex_against_calendar():
    import datetime

    r = re.compile(FORMATS["date"])
    for y in (1, 4, 100, 1900, 1996, 2000, 2023, 2024, 2100, 2400, 9999):
        for m in range(0, 14):
            for d in range(0, 33):
                s = f"{y:04d}-{m:02d}-{d:02d}"
                try:
                    datetime.date(y, m, d)
                    ok = True
                except ValueError:
                    ok = False
                assert bool(r.fullmatch(s)) == ok, s


# ---------------------------------------------------------------- random schemas x random instances
_KEYS = ["id", "name", "tags", "kind", "v"]
_STRS = ["", "a", "red", "green", "2024-02-29", "2023-02-29", "127.0.0.1", "abc123", "AB-1234",
         "123e4567-e89b-12d3-a456-426614174000", "é", 'q"x']
_NUMS = [0, 1, -1, 7, 42, 150, -3, 2.5, -0.5, 1000]


def _scalar_schemas():
    return st.sampled_from([
        {"type": "string"}, {"type": "string", "maxLength": 3}, {"type": "string", "minLength": 1},
        {"type": "string", "format": "date"}, {"type": "string", "format": "ipv4"},
        {"type": "string", "format": "uuid"}, {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$"},
        {"type": "string", "pattern": "[0-9]"}, {"type": "integer"}, {"type": "number"},
        {"type": "integer", "minimum": 0, "maximum": 100}, {"type": "number", "exclusiveMinimum": -1},
        {"type": "integer", "exclusiveMaximum": 42}, {"enum": ["red", "green", 7, None]},
        {"const": "a"}, {"type": ["integer", "null"]}, {"type": "boolean"}, True, {},
        {"type": "string", "pattern": "[0-9]", "maxLength": 3}, {"type": "string", "format": "ipv4", "maxLength": 8},
        {"type": "string", "pattern": "^[a-c]+$", "minLength": 2}, False,
    ])


def _schemas():
    def extend(children):
        obj = st.builds(
            lambda props, req, addl: {
                "type": "object", "properties": props,
                "required": [k for k in props if k in req],
                **({} if addl is None else {"additionalProperties": addl})},
            st.dictionaries(st.sampled_from(_KEYS), children, max_size=3),
            st.lists(st.sampled_from(_KEYS), max_size=3),
            st.sampled_from([None, False, {"type": "integer"}]),
        )
        arr = st.builds(
            lambda items, lo, hi: {"type": "array", "items": items,
                                   **({} if lo is None else {"minItems": lo}),
                                   **({} if hi is None else {"maxItems": hi})},
            children, st.sampled_from([None, 1, 2]), st.sampled_from([None, 2, 3]))
        anyof = st.lists(children, min_size=2, max_size=3).map(lambda bs: {"anyOf": bs})
        return obj | arr | anyof

    return st.recursive(_scalar_schemas(), extend, max_leaves=6)


def _instances():
    scalars = st.sampled_from(_STRS) | st.sampled_from(_NUMS) | st.sampled_from([None, True, False])
    return st.recursive(
        scalars,
        lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.sampled_from(_KEYS + ["x"]), ch, max_size=4),
        max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(schema=_schemas(), insts=st.lists(_instances(), min_size=4, max_size=8))
def test_random_schemas_agree_with_jsonschema(schema, insts):
    try:
        s = schema if not (isinstance(schema, dict) and schema.get("maxItems", 9) < schema.get("minItems", 0)) else {}
        text, start = schema_to_lark(s)
    except UnsupportedSchemaError:
        return
    g = LarkDynamic(text, start)
    m = MemgramDirect(s)
    for inst in insts:
        doc = json.dumps(inst, ensure_ascii=False)
        assert g.accepts(doc) == valid(s, inst), (json.dumps(s), doc)
        assert m.accepts(doc) == valid(s, inst), ("memgram", json.dumps(s), doc)


@settings(max_examples=40, deadline=None)
@given(schema=_schemas())
def test_direct_build_is_what_lark_loads_random(schema):
    from memgram.grammar.cfg import cfg_from_lark

    try:
        text, start = schema_to_lark(schema)
    except UnsupportedSchemaError:
        return
    assert_same_cfg(schema_to_cfg(schema), cfg_from_lark(text, start))


def test_not_excludes_every_spelling_of_a_value():
    """``not`` takes every JSON spelling of an excluded string out (escapes, either hex case, surrogate pairs), not
    only the canonical one; other values pass."""
    from memgram.grammar.api import Grammar

    g = Grammar.from_json_schema({"type": "string", "not": {"enum": ["test", "a/b", "\u00e9\U0001f600"]}})
    for text in ['"test"', '"\\u0074\\u0065\\u0073\\u0074"', '"t\\u0065st"', '"a\\/b"', '"a/b"',
                 '"\\u00E9\\uD83D\\uDE00"', '"\u00e9\\ud83d\\ude00"', '"\u00e9\U0001f600"']:
        assert json.loads(text) in ("test", "a/b", "\u00e9\U0001f600"), text
        assert not g.accepts(text), text
    for text in ['"Test"', '"\\u0054est"', '"tes"', '"a\\\\/b"', '""']:
        assert g.accepts(text), text


@pytest.mark.parametrize("schema,msg", [
    ({"not": {"type": "string"}}, "only inside a string schema"),
    ({"not": {"enum": ["a", 1]}}, "other than strings"),
    ({"type": "string", "not": {}}, "every value"),
    ({"type": "string", "not": {"pattern": "^a"}}, "pattern or format themselves"),
    ({"type": "string", "not": {"pattern": "^a", "maxLength": 3}}, "one of enum"),
    ({"type": "string", "enum": ["a"], "not": {"const": "a"}}, "only inside a string schema"),
    ({"type": "string", "maxLength": 1, "not": {"maxLength": 1}}, "admits no value"),
])
def test_not_outside_string_exclusions_raises(schema, msg):
    with pytest.raises(UnsupportedSchemaError, match=msg) as ei:
        schema_to_cfg(schema)
    assert ei.value.keyword == "not"


@pytest.mark.parametrize("m", [1, 1.0, 2, 5, 10, 20, 50, 100, 500, 0.1, 0.01, 0.001])
def test_multiple_of_regex_is_divisibility(m):
    """multipleOf m: exactly the multiples among integer (and, for 10^-d, short decimal) spellings."""
    import re
    from fractions import Fraction

    from memgram.grammar.json_schema import _multiple_of_regex

    r = _multiple_of_regex(m, False)
    mf = Fraction(str(m))
    spellings = [str(i) for i in range(-1200, 1201)] + ["-0"]
    spellings += [f"{i}.{f:0{n}d}" for i in (0, 1, 12, -3) for n in (1, 2, 3) for f in range(0, 10 ** n, 7)]
    for t in spellings:
        multiple = (Fraction(t) / mf).denominator == 1
        written = re.fullmatch(r, t) is not None
        # every spelling the regex writes is a multiple; integers that are multiples are all written; a decimal
        # multiple of 10^-d is written when it has at most d fraction digits (fewer spellings, never more values)
        assert not written or multiple, (m, t)
        if "." not in t or (m < 1 and len(t.split(".")[1]) <= round(-math.log10(m))):
            assert written == multiple, (m, t)


def test_multiple_of_unsupported_values_and_bounds_raise():
    for schema in ({"type": "number", "multipleOf": 3}, {"type": "number", "multipleOf": 0.25},
                   {"type": "number", "multipleOf": 0.1, "maximum": 5}, {"type": "number", "multipleOf": 0}):
        with pytest.raises(UnsupportedSchemaError) as ei:
            schema_to_cfg(schema)
        assert ei.value.keyword == "multipleOf"


@pytest.mark.parametrize("p", ["(^a)?c", "x^", "\\bx", "a$b"])
def test_patterns_whose_anchors_cannot_be_translated_raise(p):
    """An anchor inside a repetition or a word boundary is not translated; anchors that can never hold admit no
    string: both raise (never a silently different language)."""
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_cfg({"type": "string", "pattern": p})
    assert ei.value.keyword == "pattern"


@pytest.mark.parametrize("schema,where", [
    ({"type": "object", "properties": {"a": {}}, "dependentRequired": {"a": ["zz"]}}, "/dependentRequired/a"),
    ({"type": "object", "properties": {"a": {}}, "dependencies": {"a": {"properties": {"a": {"type": "string"}}}}},
     "/dependencies/a"),
    ({"type": "object", "properties": {"a": {}}, "dependencies": {"zz": ["a"]}}, "/dependencies/zz"),
])
def test_dependencies_beyond_declared_presence_raise(schema, where):
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_cfg(schema)
    assert ei.value.pointer == where


def test_dependencies_with_strict_key_order_raise():
    with pytest.raises(UnsupportedSchemaError) as ei:
        schema_to_cfg({"type": "object", "properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"]}},
                      strict_key_order=True)
    assert ei.value.keyword == "dependencies"

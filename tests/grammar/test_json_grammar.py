"""The shipped JSON grammar (grammar/grammars/json.lark) against Python's strict json parser."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .grammar_engines import engine_names, grammar_text, make_engine


def _reject_constant(name):
    raise ValueError(f"non-RFC constant {name}")


def rfc_json_ok(s: str) -> bool:
    """Python's json with strict strings and without NaN/Infinity == RFC 8259 (for str input)."""
    try:
        json.loads(s, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return True


@pytest.fixture(scope="module", params=engine_names())
def engine(request):
    return make_engine(request.param, grammar_text("json"), "start")


VALID = [
    "0", "-0", "1", "-1", "10", "1.5", "-0.0", "1e5", "1E+5", "1e-5", "12.25e10", "0.1E-0",
    "123456789012345678901234567890", "true", "false", "null",
    '""', '"a"', '"\\""', '"\\\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u0000"', '"\\uABCD"',
    '"\\ud83d\\ude00"', '"\\ud800"', '"é"', '"日本語"', '"😀"', '"\x7f"', '"/"', "'x'".replace("'", '"'),
    "[]", "{}", "[1]", "[1,2,3]", '{"a":1}', '{"a":1,"b":[true,false,null]}', '{"a":{"b":{"c":{}}}}',
    ' \t\n\r[ 1 , 2 ] \n', '{ "k" : "v" }', '[[[[[[]]]]]]', '{"":""}', '{"a":1,"a":2}',
    '[-1.0e-10, 0.5, "x", {"y": [null]}]',
]

INVALID = [
    "", " ", "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10", "1 2", "NaN",
    "Infinity", "-Infinity", "True", "nul", "nulll", "[1,]", "[,1]", "{,}", '{"a":1,}', '{"a"}',
    '{"a" 1}', "{1:2}", "{'a':1}", "'a'", '"', '"abc', '"\\"', '"\\x41"', '"\\u00"', '"\\u00G0"',
    '"\\U0041"', '"\\a"', '"\x00"', '"\x1f"', '"a\nb"', '"\t"', "[1 2]", "[1,,2]", "[", "]", "{",
    "}", "[}", "{]", '{"a":1}}', "[[]", "\x0b1", "\x0c1", "1\x0c", "\u00a01", "1\u2028",
    "// c\n1", "/* c */1", "[1]x", "truefalse", "true false", '"a""b"', '{"a":1 "b":2}',
]


@pytest.mark.parametrize("doc", VALID)
def test_valid_documents(engine, doc):
    assert rfc_json_ok(doc), doc  # sanity of the list itself
    assert engine.accepts(doc), doc


@pytest.mark.parametrize("doc", INVALID)
def test_invalid_documents(engine, doc):
    assert not rfc_json_ok(doc), doc
    assert not engine.accepts(doc), doc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values, indent=st.sampled_from([None, 0, 2, "\t"]), ascii_=st.booleans())
def test_random_documents_accepted(engine, value, indent, ascii_):
    doc = json.dumps(value, indent=indent, ensure_ascii=ascii_)
    assert engine.accepts(doc), doc


_MUTATION_CHARS = list('{}[],:"\\ -+.eE0123456789tfnul/\t\n\x00\x1f') + ["\\u", "\\u12", "é"]


def _mutants(n: int, seed: int = 1234):
    rng = random.Random(seed)
    base_values = [
        {"a": [1, 2.5, -3e-4], "b": {"c": None, "d": True}, "e": "x\ny\"z\\é😀"},
        [[], {}, "", 0, -0.0, "\u0001", {"k": ["v", False]}],
        {"id": 12, "tags": ["a", "b"], "nested": {"deep": [[[1]]]}},
    ]
    out = []
    for _ in range(n):
        doc = json.dumps(rng.choice(base_values), indent=rng.choice([None, 1]))
        for _k in range(rng.randint(1, 2)):
            pos = rng.randrange(len(doc) + 1)
            op = rng.random()
            if op < 0.4 and pos < len(doc):
                doc = doc[:pos] + doc[pos + 1:]
            elif op < 0.8:
                doc = doc[:pos] + rng.choice(_MUTATION_CHARS) + doc[pos:]
            elif pos < len(doc):
                doc = doc[:pos] + rng.choice(_MUTATION_CHARS) + doc[pos + 1:]
        out.append(doc)
    return out


def test_random_mutants_agree_with_json_loads(engine):
    """Random edits of valid documents: the grammar and the strict json parser agree on every one."""
    mutants = _mutants(300)
    n_invalid = 0
    for doc in mutants:
        expected = rfc_json_ok(doc)
        n_invalid += not expected
        assert engine.accepts(doc) == expected, repr(doc)
    assert n_invalid > 100  # the mutation set really exercises rejection

"""GrammarLogitsProcessor, generate_json, generate_code and infill.

Without the model: the processor driven by hand (EOS handling, finished rows, reuse, refused-token
error, bitmask expansion). With the embedded model (marked ``model``; short generations): a batch of
3 rows with different grammars and reuse across generate() calls, JSON schemas, C++ infilling.
The 20-schema comparison with and without the processor is marked ``slow``."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from memgram.grammar import HOLE, Grammar
from memgram.grammar.vocab import TokenTable
from memgram.runtime.constrained import (ConstraintViolation, GrammarLogitsProcessor, bitmask_to_bool,
                                         generate_json, infill)

jsonschema = pytest.importorskip("jsonschema")


def small_table():
    # ids: 0 "a", 1 "b", 2 "ab", 3 " ", 4 <eos>, 5 <pad>; logits width 9 (wider than the vocabulary)
    return TokenTable([b"a", b"b", b"ab", b" ", b"", b""], special=[0, 0, 0, 0, 1, 1], eos_ids=[4],
                      logits_width=9)


def allowed_of(scores):
    return [set(torch.nonzero(torch.isfinite(r)).flatten().tolist()) for r in scores]


def test_bitmask_to_bool_matches_numpy():
    rng = np.random.default_rng(0)
    m = rng.integers(-2**31, 2**31 - 1, size=(3, 5), dtype=np.int64).astype(np.int32)
    got = bitmask_to_bool(torch.from_numpy(m), 150).numpy()
    exp = np.unpackbits(m.view(np.uint8), axis=1, bitorder="little")[:, :150].astype(bool)
    assert np.array_equal(got, exp)


def test_processor_eos_rows_reuse_and_violation():
    table = small_table()
    g1 = Grammar.from_lark('start: "a" "b"')          # exactly "ab"
    g2 = Grammar.from_lark('start: "a"+')
    proc = GrammarLogitsProcessor([g1, g2], table)
    prompt = torch.tensor([[7, 7], [7, 7]])
    s = proc(prompt, torch.zeros(2, 9))
    al = allowed_of(s)
    assert al[0] == {0, 2} and al[1] == {0}            # EOS, width padding and specials refused
    ids = torch.cat([prompt, torch.tensor([[0], [0]])], 1)
    al = allowed_of(proc(ids, torch.zeros(2, 9)))
    assert al[0] == {1} and al[1] == {0, 4}            # EOS exactly when the row is a full word
    ids = torch.cat([ids, torch.tensor([[1], [4]])], 1)  # row 1 finished with EOS
    s = proc(ids, torch.zeros(2, 9))
    al = allowed_of(s)
    assert al[0] == {4} and al[1] == set(range(9))     # finished rows are left alone
    assert proc.outputs_accepting() == [True, True]
    # a new generate() call (different input) restarts the rows
    ids2 = torch.tensor([[5, 5, 5], [5, 5, 5]])
    al = allowed_of(proc(ids2, torch.zeros(2, 9)))
    assert al[0] == {0, 2} and al[1] == {0}
    # a refused token in the sequence raises instead of continuing in a dead state
    with pytest.raises(ConstraintViolation):
        proc(torch.cat([ids2, torch.tensor([[1], [0]])], 1), torch.zeros(2, 9))


def test_processor_follows_reordered_rows():
    # beam search reorders rows between steps: each row continues its parent's state
    table = small_table()
    g = Grammar.from_lark('start: "a" "b" | "b" "a"')
    proc = GrammarLogitsProcessor(g, table)
    ids = torch.tensor([[7], [7]])
    proc(ids, torch.zeros(2, 9))
    ids = torch.tensor([[7, 0], [7, 1]])                 # row 0 took "a", row 1 took "b"
    al = allowed_of(proc(ids, torch.zeros(2, 9)))
    assert al == [{1}, {0}]
    ids = torch.tensor([[7, 1, 0], [7, 1, 0]])           # both beams now descend from old row 1
    al = allowed_of(proc(ids, torch.zeros(2, 9)))
    assert al == [{4}, {4}] and proc.outputs_accepting() == [True, True]


def test_processor_shared_grammar_repeated_rows():
    table = small_table()
    g = Grammar.from_lark('start: "a" "b"')
    proc = GrammarLogitsProcessor(g, table)
    al = allowed_of(proc(torch.zeros(4, 1, dtype=torch.long), torch.zeros(4, 9)))
    assert all(a == {0, 2} for a in al)
    with pytest.raises(ValueError):
        GrammarLogitsProcessor([g, g], table)(torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 9))


def decode_row(tok, row, n_prompt, eos):
    out = []
    for t in row[n_prompt:].tolist():
        if t in eos:
            return bytes().join(out), True
        out.append(tok.convert_tokens_to_string([tok.convert_ids_to_tokens(t)]).encode("utf-8"))
    return b"".join(out), False


@pytest.mark.model
def test_batch_three_grammars_and_reuse(default_model):
    model, tok = default_model
    gs = [Grammar.from_json_schema({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
                                    "additionalProperties": False}),
          Grammar.from_lark('start: "yes" | "no"'),
          Grammar.from_json_schema({"enum": ["red", "green", "blue"]})]
    proc = GrammarLogitsProcessor(gs, tok, model=model)
    tok.padding_side = "left"
    eos = set(proc.table.eos_ids.tolist())
    for prompts, n_new in ((["A JSON object with n=3:", "Is the sky blue? Answer:", "Favourite colour:"], 4),
                           (["Object:", "Yes or no?", "Colour of grass:"], 3)):
        enc = tok(prompts, return_tensors="pt", padding=True)
        out = model.generate(**enc, logits_processor=[proc], max_new_tokens=n_new, do_sample=False,
                             pad_token_id=tok.pad_token_id or 2)
        for r in range(3):
            new = out[r, enc.input_ids.shape[1]:].tolist()
            body = [t for t in new if t not in eos and t != (tok.pad_token_id or 2)]
            data = b"".join(proc.table.token_bytes[t] for t in body)
            if any(t in eos for t in new):
                assert gs[r].accepts(data), (r, data)
            else:
                assert gs[r].completable([data, HOLE]).ok, (r, data)
        assert proc.outputs_accepting()[1]     # "yes"/"no" is at most 2 tokens


SCHEMAS = [
    ("Describe a person named Bob who is 41 as JSON with name and age.",
     {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
      "required": ["name", "age"], "additionalProperties": False}),
    ("Pick a size for a T-shirt as JSON.", {"type": "object", "properties": {"size": {"enum": ["S", "M", "L"]}},
                                            "required": ["size"], "additionalProperties": False}),
    ("List three small prime numbers as a JSON array.",
     {"type": "array", "items": {"type": "integer", "minimum": 2, "maximum": 100}, "minItems": 1, "maxItems": 3}),
]


@pytest.mark.model
@pytest.mark.parametrize("k", range(len(SCHEMAS)))
def test_generate_json_validates(default_model, k):
    model, tok = default_model
    prompt, schema = SCHEMAS[k]
    obj = generate_json(model, tok, prompt, schema, max_new_tokens=40)
    jsonschema.validate(obj, schema)


@pytest.mark.model
def test_infill_cpp_function(default_model):
    model, tok = default_model
    g = Grammar.builtin("cpp")
    pieces = ["int add(int a, int b) {\n    return ", HOLE, ";\n}\n"]
    text, fills = infill(model, tok, pieces, g, max_new_tokens=6, return_fills=True)
    assert g.accepts(text)
    assert text.startswith("int add(int a, int b) {\n    return ") and text.endswith(";\n}\n")
    assert fills[0] is not None and fills[0].strip()


@pytest.mark.model
@pytest.mark.slow
def test_infill_json_two_regions(default_model):
    model, tok = default_model
    g = Grammar.builtin("json")
    pieces = ['{"city": ', HOLE, ', "population": ', HOLE, "}"]
    text, fills = infill(model, tok, pieces, g, max_new_tokens=10, return_fills=True)
    assert g.accepts(text)
    json.loads(text)


# ------------------------------------------------------------------------------------------- slow
SCHEMAS_20 = [
    {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]},
    {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": False},
    {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
    {"enum": ["north", "south", "east", "west"]},
    {"type": "object", "properties": {"x": {"type": "number", "minimum": -10, "maximum": 10},
                                      "y": {"type": "number", "minimum": -10, "maximum": 10}}, "required": ["x", "y"]},
    {"type": "object", "properties": {"user": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                                 "email": {"type": "string"}},
                                               "required": ["id"]}}, "required": ["user"]},
    {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["zip"]},
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}, "maxItems": 5},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}}},
     "required": ["tags"]},
    {"type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer", "minimum": 1900,
                                                                            "maximum": 2100}},
     "required": ["title", "year"], "additionalProperties": False},
    {"type": "string", "pattern": "^[A-Z][a-z]+$"},
    {"type": "object", "properties": {"a": {"type": "null"}, "b": {"type": ["integer", "string"]}}, "required": ["a", "b"]},
    {"type": "object", "properties": {"price": {"type": "number", "exclusiveMinimum": 0}}, "required": ["price"]},
    {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
        "sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}, "required": ["sku", "qty"]}}},
     "required": ["items"]},
    {"type": "integer", "minimum": 10, "maximum": 99},
    {"type": "object", "properties": {"first": {"type": "string"}, "last": {"type": "string"},
                                      "middle": {"type": "string"}}, "required": ["first", "last"]},
    {"type": "object", "properties": {"status": {"const": "done"}, "code": {"type": "integer"}},
     "required": ["status", "code"]},
    {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
    {"type": "object", "properties": {"ip": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$"}},
     "required": ["ip"]},
    {"type": "object", "properties": {"matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                                            "maxItems": 2}, "maxItems": 2}},
     "required": ["matrix"]},
]


def _unconstrained_ok(model, tok, prompt, schema, max_new_tokens):
    msgs = [{"role": "user", "content": prompt}]
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=2)
    text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
    try:
        jsonschema.validate(json.loads(text), schema)
        return True
    except Exception:
        return False


@pytest.mark.model
@pytest.mark.slow
def test_twenty_schemas_with_and_without_processor(default_model, capsys):
    model, tok = default_model
    ok_con = ok_free = 0
    for s in SCHEMAS_20:
        prompt = "Reply with only a JSON value matching this JSON schema: " + json.dumps(s)
        obj = generate_json(model, tok, prompt, s, max_new_tokens=96)
        jsonschema.validate(obj, s)
        ok_con += 1
        ok_free += _unconstrained_ok(model, tok, prompt, s, 96)
    with capsys.disabled():
        print(f"\n20 schemas: constrained {ok_con}/20 valid, unconstrained {ok_free}/20 valid")
    assert ok_con == 20 and ok_free < 20


class _EagerModel:
    """A stand-in for a model whose ``generate()`` is greedy over fixed preferences: it keeps writing "," and "ab"
    (an output that wants to go on) and never chooses "]" unless nothing else is allowed."""

    def __init__(self):
        self.kwargs = None

    def generate(self, ids, logits_processor, max_new_tokens, pad_token_id, do_sample):
        self.kwargs = dict(max_new_tokens=max_new_tokens)
        prefs = torch.tensor([[1.0, 0.0, 3.0, 2.0, 0.5, 0.5, -1.0, -9.0, -9.0]])  # "[" "]" "," "ab" "a" "b" eos
        for _ in range(max_new_tokens):
            scores = prefs.clone()
            for p in logits_processor:
                scores = p(ids, scores)
            t = int(scores.argmax())
            ids = torch.cat([ids, torch.tensor([[t]])], 1)
            if t == 6:
                break
        return ids


def test_default_budget_of_a_finite_language_always_completes():
    from memgram.runtime.constrained import IncompleteOutputError, _generate_constrained

    table = TokenTable([b"[", b"]", b",", b"ab", b"a", b"b", b"", b""], special=[0] * 6 + [1, 1], eos_ids=[6],
                       logits_width=9)
    g = Grammar.from_lark('start: "[" (ITEM ("," ITEM)~0..29)? "]"\nITEM: "ab"')
    assert g.max_length() == 2 + 30 * 2 + 29
    model = _EagerModel()
    data, ended = _generate_constrained(model, table, torch.tensor([[7]]), g, {})
    assert model.kwargs["max_new_tokens"] == g.max_length() + 1
    assert data == b"[" + b",".join([b"ab"] * 30) + b"]" and ended
    with pytest.raises(IncompleteOutputError):  # a smaller explicit budget runs out before the "]"
        _generate_constrained(_EagerModel(), table, torch.tensor([[7]]), g, {"max_new_tokens": 20})

"""Token matcher vs the specification ``completable(prefix + token + HOLE)`` (differential tests).

Random walks through the JSON and C++ grammars (following a real document for a while, then
random allowed tokens); at sampled steps, a sample of tokens (allowed and refused ones) is
checked with the slow :class:`ReferenceMatcher`. Tokenizers: the embedded model's byte-level BPE
vocabulary (tokenizer files only, no model) and a SentencePiece-style vocabulary built here."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgram.grammar import HOLE, Grammar
from memgram.grammar.matcher import ReferenceMatcher, compile_matcher
from memgram.grammar.vocab import TokenTable, VocabTrie

CORPUS = Path(__file__).parent / "cpp_corpus"

JSON_DOCS = [
    b'{"name": "Ada", "age": 36, "tags": ["x", "y\\n"], "ok": true, "pi": -3.25e2, "n": null}',
    b'[1, {"a": {"b": []}}, "\\u00e9t\xc3\xa9", false, 0.5]',
]


@pytest.fixture(scope="module")
def bpe_table():
    from memgram.runtime.model import cache_dir, default_gguf_path
    from memgram.runtime.vocab import token_table

    target = cache_dir() / "models" / default_gguf_path().stem
    if (target / ".complete").exists():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(target))
    else:  # first use on this machine: prepare the embedded model
        import memgram

        tok = memgram.load_default_model(verbose=False)[1]
    return token_table(tok), tok


def sentencepiece_table():
    """A SentencePiece-style vocabulary: byte fallback pieces, ▁-prefixed words, punctuation runs."""
    from memgram.runtime.vocab import table_from_pieces

    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    words = ["int", "return", "for", "if", "else", "while", "void", "main", "x", "y", "i", "n", "true", "false",
             "null", "name", "a", "b", "std", "vector", "size", "0", "1", "2", "10", "3.", "5e", "e-"]
    punct = ["{", "}", "(", ")", "[", "]", ";", ",", ":", "\"", "\":", "\",", "{\"", "\"}", "();", "){", "++",
             "+=", "==", "<", "<=", "=", "+", "-", "*", "/", "//", "/*", "*/", "::", "->", "\\", "\\n", "\\\"",
             "'", "#", ".", "\n", "\n\n", "  ", "    ", "\t"]
    for w in words + punct:
        pieces.append(w)
        pieces.append("\u2581" + w)
    pieces += ["\u2581", "\u2581\u2581", "é", "\u2581é"]
    return table_from_pieces(pieces, style="sentencepiece", special_ids=[0, 1, 2], eos_ids=[2],
                             logits_width=len(pieces) + 13)


def greedy_tokenize(table: TokenTable, data: bytes) -> list[int]:
    """Longest-piece tokenization (for following a document with a table without a tokenizer)."""
    by = {}
    for i, b in enumerate(table.token_bytes):
        if b and not table.special[i] and i not in set(table.eos_ids.tolist()):
            by.setdefault(b, i)
    out, i = [], 0
    L = max(len(b) for b in by)
    while i < len(data):
        for k in range(min(L, len(data) - i), 0, -1):
            t = by.get(data[i:i + k])
            if t is not None:
                out.append(t)
                i += k
                break
        else:
            raise ValueError("untokenizable")
    return out


def check_walk(g, table, doc_ids, rng, *, follow, random_steps, check_every, n_sample, budget_checks):
    m = compile_matcher(g, table)
    prefix = b""
    eos = set(table.eos_ids.tolist())
    steps = [("doc", t) for t in doc_ids[:follow]] + [("rand", None)] * random_steps
    n_checked = 0
    mask_buf = np.zeros(table.n_words, np.int32)
    for k, (kind, tid) in enumerate(steps):
        m.mask(mask_buf)
        allowed = set(TokenTable.mask_to_ids(mask_buf).tolist())
        assert all(i < table.logits_width for i in allowed)
        assert all(not table.special[i] or i in eos for i in allowed if i < len(table))
        if k % check_every == 0 and n_checked < budget_checks:
            ref = ReferenceMatcher(g, table, prefix)
            al = sorted(allowed - eos)
            cand = rng.sample(al, min(len(al), n_sample // 2))
            cand += rng.sample(range(len(table)), n_sample - len(cand))
            cand += sorted(eos)
            for t in cand:
                exp = ref.allowed(t)
                assert (t in allowed) == exp, (prefix, table.token_bytes[t], t in allowed, exp)
                n_checked += 1
            # EOS iff a full word
            assert m.is_accepting() == bool(g.accepts(prefix)), prefix
        if kind == "doc":
            assert tid in allowed, (prefix, table.token_bytes[tid])
        else:
            choices = sorted(allowed - eos)
            if not choices:
                break
            tid = rng.choice(choices)
        assert m.advance(tid)
        prefix += table.token_bytes[tid]
    # rollback returns to an earlier state with the same mask
    if m.n_tokens >= 2:
        c = m.copy()
        before = c.mask().copy()
        last = None
        m.rollback(1)
        again = m.mask().copy()
        c2 = m.copy()
        for t in TokenTable.mask_to_ids(again):
            if t not in eos and c2.advance(int(t)):
                last = t
                break
        assert last is not None
        assert np.array_equal(c.mask(), before)
    return n_checked


@pytest.mark.parametrize("doc", range(len(JSON_DOCS)))
def test_json_bpe_differential(bpe_table, doc):
    table, tok = bpe_table
    g = Grammar.builtin("json")
    ids = tok.encode(JSON_DOCS[doc].decode("utf-8"))
    rng = random.Random(doc)
    n = check_walk(g, table, ids, rng, follow=len(ids), random_steps=12, check_every=2, n_sample=24,
                   budget_checks=700)
    assert n > 100


def test_json_sentencepiece_differential():
    table = sentencepiece_table()
    g = Grammar.builtin("json")
    for d, doc in enumerate(JSON_DOCS):
        ids = greedy_tokenize(table, doc)
        check_walk(g, table, ids, random.Random(10 + d), follow=len(ids), random_steps=10, check_every=1,
                   n_sample=20, budget_checks=600)


def test_json_schema_bpe_differential(bpe_table):
    table, tok = bpe_table
    schema = {"type": "object", "properties": {"id": {"type": "integer", "minimum": 0},
                                                 "kind": {"enum": ["a", "bb"]},
                                                 "xs": {"type": "array", "items": {"type": "number"}},
                                                 "code": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5}},
              "required": ["id", "kind"], "additionalProperties": False}
    g = Grammar.from_json_schema(schema)
    doc = '{"id": 12, "kind": "bb", "code": "abcd", "xs": [1.5, -2]}'
    assert g.accepts(doc)
    ids = tok.encode(doc)
    check_walk(g, table, ids, random.Random(3), follow=len(ids), random_steps=8, check_every=1, n_sample=24,
               budget_checks=800)


def test_cpp_bpe_differential(bpe_table):
    table, tok = bpe_table
    g = Grammar.builtin("cpp")
    src = (CORPUS / "03_truncate_number.cpp").read_text()
    ids = tok.encode(src)
    rng = random.Random(7)
    # C++ reference checks are ~0.1 s each: a few steps, few tokens
    check_walk(g, table, ids, rng, follow=min(len(ids), 40), random_steps=3, check_every=9, n_sample=8,
               budget_checks=45)


def test_cpp_sentencepiece_differential():
    table = sentencepiece_table()
    g = Grammar.builtin("cpp")
    src = b"int main() { int x = 10; for (int i = 0; i < x; i++) { x += i; } return x; }"
    ids = greedy_tokenize(table, src)
    check_walk(g, table, ids, random.Random(11), follow=len(ids), random_steps=3, check_every=10, n_sample=8,
               budget_checks=45)


def test_matcher_api_small():
    g = Grammar.from_lark('start: "a"+ "b"')
    table = TokenTable([b"a", b"ab", b"b", b"ba", b""], special=[0, 0, 0, 0, 1], eos_ids=[4], logits_width=40)
    m = compile_matcher(g, table)
    assert m.mask().shape == (2,)
    assert list(m.allowed_ids()) == [0, 1]
    assert not m.advance(2) and m.n_tokens == 0          # refused: state unchanged
    assert not m.is_accepting() and not m.advance(4)     # EOS only when accepting
    assert m.advance(0) and list(m.allowed_ids()) == [0, 1, 2]
    c = m.copy()
    assert m.advance(2) and m.is_accepting() and list(m.allowed_ids()) == [4]
    assert m.advance(4)
    m.rollback(1)
    assert list(m.allowed_ids()) == [0, 1, 2]
    assert list(c.allowed_ids()) == [0, 1, 2]
    with pytest.raises(ValueError):
        m.rollback(5)


def test_forced_tokens():
    g = Grammar.from_lark('start: "hello" " " "world" | "help"')
    table = TokenTable([b"hel", b"lo", b" ", b"world", b"p", b"h", b""], special=[0] * 6 + [1], eos_ids=[6])
    m = compile_matcher(g, table)
    assert m.forced_tokens() == []              # "hel" or "h"
    assert m.advance(0)
    assert m.forced_tokens() == []              # "lo" or "p"
    assert m.advance(1)
    assert m.forced_tokens() == [2, 3]
    assert m.n_tokens == 2                      # forced_tokens does not move the matcher


def test_partial_utf8_tokens():
    # a 2-byte character split over two tokens; a lone continuation byte is never allowed first
    g = Grammar.builtin("json")
    table = TokenTable([b'"', b"\xc3", b"\xa9", b'"', b"\xa9\xc3", b""], special=[0] * 5 + [1], eos_ids=[5])
    m = compile_matcher(g, table)
    ids = set(m.allowed_ids().tolist())
    assert 0 in ids and 1 not in ids and 2 not in ids
    assert m.advance(0) and m.advance(1)
    ids = set(m.allowed_ids().tolist())
    assert 2 in ids and 4 in ids and 1 not in ids    # "é\xc3 is still a prefix of a string
    ref = ReferenceMatcher(g, table, b'"\xc3')
    for t in range(5):
        assert (t in ids) == ref.allowed(t)
    assert m.advance(2) and m.advance(3) and m.is_accepting()
    assert g.completable([b'"\xc3\xa9"']).ok


def test_mask_refuses_dead_continuations_cpp():
    # the cpp grammar forbids two identifiers in a row inside an expression
    g = Grammar.builtin("cpp")
    table = TokenTable([b"int", b" x", b" y", b";", b" =", b" 1", b""], special=[0] * 6 + [1], eos_ids=[6])
    m = compile_matcher(g, table)
    for t in (0, 1, 4, 5):
        assert m.advance(t), t
    ids = set(m.allowed_ids().tolist())
    ref = ReferenceMatcher(g, table, b"int x = 1")
    for t in range(7):
        assert (t in ids) == ref.allowed(t), table.token_bytes[t]
    assert g.completable([b"int x = 1", HOLE]).ok


def _sliced_vs_plain(bpe_table, g, text):
    """Follow ``text`` with a matcher that uses the slices and one that walks the whole trie; every
    mask must be equal. Returns the slicing matcher's index."""
    from memgram.grammar.matcher import GrammarIndex, Matcher

    table, tok = bpe_table
    fast = Matcher(GrammarIndex(g, table))
    plain_ix = GrammarIndex(g, table)
    plain_ix.SLICE_MIN_BYTES = plain_ix.SLICE_A_MIN_BYTES = 10**9
    plain = Matcher(plain_ix)
    ids = tok.encode(text)
    for k, t in enumerate(ids):
        assert np.array_equal(fast.mask(), plain.mask()), tok.decode(ids[:k])
        assert fast.advance(t) and plain.advance(t)
    assert fast.index.stats["sliced"] > 0 and plain_ix.stats["sliced"] == 0
    return fast.index


def test_finished_masks_are_reused_and_equal_fresh_ones(bpe_table):
    """A second sequence of the same index reaches the same states (shared item sets) and gets the finished masks
    back from the index; they equal masks computed with that cache emptied, and rollback lands on cached states."""
    from memgram.grammar.matcher import GrammarIndex, Matcher

    table, tok = bpe_table
    ix = GrammarIndex(Grammar.from_json_schema({"type": "object", "properties": {"a": {"type": "integer"},
                                                                                 "b": {"type": "string"}}}), table)
    ids = tok.encode('{"a": 12, "b": "xy"}')
    first = Matcher(ix)
    masks = []
    for t in ids:
        masks.append(first.mask().copy())
        assert first.advance(t)
    walks, n_cached = ix.stats["walks"], len(ix._masks)
    second = Matcher(ix)
    for k, t in enumerate(ids):
        assert np.array_equal(second.mask(), masks[k])
        assert second.advance(t)
    assert len(ix._masks) == n_cached and ix.stats["walks"] == walks    # all from the cache
    second.rollback(3)
    assert np.array_equal(second.mask(), masks[len(ids) - 3])
    ix._masks.clear()
    third = Matcher(ix)
    for k, t in enumerate(ids):
        assert np.array_equal(third.mask(), masks[k])
        assert third.advance(t)
    assert len(ix._masks) == n_cached                          # recomputed (from the cached walks) and kept again


@pytest.mark.parametrize("width", [1, 31, 32, 80, 100, 1000, 2000])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.5, 0.99, 1.0])
def test_finished_masks_kept_compactly_round_trip(width, density):
    """_pack_mask/_unpack_mask: ids, refused ids or a copy, whichever the density calls for; same mask back."""
    from memgram.grammar.matcher import _pack_mask, _unpack_mask

    rng = np.random.default_rng(int(width + 1000 * density))
    n_words = (width + 31) // 32
    bits = rng.random(width) < density
    u = np.zeros(n_words, np.uint32)
    for i in np.flatnonzero(bits):
        u[i >> 5] |= np.uint32(1) << np.uint32(i & 31)
    cap = max(1, width // 8)
    buf = np.zeros(cap, np.uint32)
    kind, k = _pack_mask(u, width, buf)
    data = buf[:k].copy() if kind < 2 else u.copy()
    n = int(bits.sum())
    assert kind == (0 if n <= cap else 1 if width - n <= cap else 2)
    if kind < 2:
        assert sorted(data.tolist()) == np.flatnonzero(bits if kind == 0 else ~bits).tolist()
    got = np.full(n_words, 0xDEADBEEF, np.uint32)
    _unpack_mask(got, kind, data, width)
    assert np.array_equal(got, u)


def test_slices_equal_plain_walks(bpe_table):
    """The vocabulary slices (tokens inside a JSON string) give the same masks as full trie walks."""
    g = Grammar.from_json_schema({"type": "object", "properties": {"s": {"type": "string"},
                                                                     "t": {"type": "array", "items": {"type": "string"}}}})
    _sliced_vs_plain(bpe_table, g, '{"s": "a \\"quoted\\" word, é", "t": ["x", "y z"]}')


LEVEL_SCHEMA = {"type": "object", "properties": {
    "short": {"type": "string", "maxLength": 5},           # counted next to a plain string: level cut k
    "free": {"type": "string"},
    "code": {"type": "string", "maxLength": 40},           # longer than most tokens
    "mail": {"type": "string", "format": "email"},         # levels mixed under its A: restricted slice
    "tags": {"type": "array", "items": {"enum": ["cyan", "blue", "x y"]}}}}


@pytest.mark.parametrize("text", [
    '{"short": "ab", "free": "a \\"quoted\\" word, \u00e9", "code": "abcdefghijklmnopqrstuvwxyz0123456789ABC"}',
    '{"mail": "ada@example.com", "tags": ["cyan", "x y"], "short": "abcde"}',
    '{"zz": "unknown keys are strings too", "short": ""}',
])
def test_level_slices_equal_plain_walks(bpe_table, text):
    """The length-levelled slices (a bounded string next to a plain one, literal keys tracked by the
    same lexer state) give exactly the masks of full trie walks."""
    _sliced_vs_plain(bpe_table, Grammar.from_json_schema(LEVEL_SCHEMA), text)


def test_bounded_string_uses_a_length_cut(bpe_table):
    """Inside ``"short"`` (maxLength 5, next to unbounded strings in the same lexer state) the mask
    comes from the slice cut at the remaining length, not from a walk of the whole vocabulary."""
    from memgram.grammar.matcher import GrammarIndex, Matcher, _level_cut

    table, tok = bpe_table
    g = Grammar.from_json_schema(LEVEL_SCHEMA)
    ix = GrammarIndex(g, table)
    m = Matcher(ix)
    assert m.advance_bytes(b'{"short": "ab')
    (c, node), = m.branches
    sd = ix.slice_for(c)
    assert sd is not None
    ok, _ = ix.tables_for(node.akey)
    assert _level_cut(ok, sd[1], sd[2], sd[3], sd[0].max_len) == 3      # 3 more characters fit
    ids = set(m.allowed_ids().tolist())
    for i in tok.encode("c de xyz abcd", add_special_tokens=False):
        assert (i in ids) == (len(table.token_bytes[i]) <= 3), table.token_bytes[i]
    assert tok.encode('"', add_special_tokens=False)[0] in ids


def test_level_sets_restore_marks_when_the_buffer_grows(bpe_table):
    from memgram.grammar.matcher import GrammarIndex, Matcher, _levels

    table, _ = bpe_table
    g = Grammar.from_json_schema(LEVEL_SCHEMA)
    ix = GrammarIndex(g, table)
    m = Matcher(ix)
    assert m.advance_bytes(b'{"')                     # literal keys and plain strings in one state
    c = m.branches[0][0]
    sd = ix.slice_for(c)
    assert sd is not None and max(np.diff(sd[1])) > 1
    xcls = np.unique(ix.bcls[[ord(ch) for ch in "abcdefghijklmnopqrstuvwxyz "]])
    off = np.zeros(sd[0].max_len + 2, np.int64)
    dead = np.zeros(sd[0].max_len + 1, np.bool_)
    assert _levels(c, ix.trans, ix.end, xcls, sd[0].max_len, ix._mark, off, dead, np.zeros(2, np.int64)) == -2
    assert (ix._mark == -1).all()


def test_token_table_bytes(bpe_table):
    table, tok = bpe_table
    assert len(table) == len(tok) and table.logits_width >= len(tok)
    assert set(table.eos_ids.tolist()) >= {tok.eos_token_id}
    assert all(table.special[i] for i in tok.all_special_ids)
    text = 'int main() { return "é€ ok"; }\n\t  x'
    ids = tok.encode(text, add_special_tokens=False)
    assert b"".join(table.token_bytes[i] for i in ids) == text.encode("utf-8")
    rng = random.Random(0)
    n_checked = 0
    for i in rng.sample(range(len(tok)), 400):
        if table.special[i]:
            continue
        s = tok.decode([i])
        if "\ufffd" not in s:
            assert table.token_bytes[i] == s.encode("utf-8"), i
            n_checked += 1
    assert n_checked > 300


def test_sentencepiece_table_and_wide_logits():
    table = sentencepiece_table()
    assert table.token_bytes[3 + 0x41] == b"A"                # <0x41>
    i = table.token_bytes.index(b" return")                   # ▁return
    assert i > 0 and table.logits_width == len(table) + 13
    g = Grammar.builtin("json")
    m = compile_matcher(g, table)
    ids = TokenTable.mask_to_ids(m.mask())
    assert ids.max() < len(table) and 2 not in ids            # nothing past the vocabulary, no EOS yet



def test_grammar_matcher_method_is_compile_matcher():
    from memgram.grammar import Grammar

    g = Grammar.from_lark('start: "a" "b"')
    table = TokenTable([b"a", b"b", b"ab", b"</s>"], special=[False, False, False, True], eos_ids=[3])
    m = g.matcher(table)
    assert m.advance(0) and not m.is_accepting() and m.advance(1) and m.is_accepting()
    m2 = g.matcher(table)
    assert not m2.advance(1) and m2.advance(2) and m2.is_accepting()


def test_slice_masks_by_length():
    table = TokenTable([b"a", b"ab", b"abc", b"a b", b" ab", b"b", b""], special=[0] * 6 + [1], eos_ids=[6])
    x = np.zeros(256, bool)
    x[[ord("a"), ord("b")]] = True
    sl = table.slice(x, min_fraction=0.0)
    assert sl.max_len == 2                                   # "abc" has a byte outside X
    assert [TokenTable.mask_to_ids(sl.upto[k]).tolist() for k in range(3)] == [[], [0, 5], [0, 1, 5]]
    assert sorted(table.token_bytes[i] for i in sl.trie.tok_ids.tolist()) == [b" ab", b"a b", b"abc"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=0, max_size=5), st.booleans()), min_size=1, max_size=40),
       st.sets(st.integers(0, 255)), st.sets(st.integers(0, 255)))
def test_inside_tokens_and_length_blocks_match_their_definition(toks, first, rest):
    """TokenTable.inside and Slice.upto (numba) against their definitions, token by token."""
    table = TokenTable([b for b, _ in toks], special=[s for _, s in toks])
    x1, x2 = np.zeros(256, bool), np.zeros(256, bool)
    x1[list(first)] = True
    x2[list(rest)] = True
    want = [bool(b) and not s and b[0] in first and all(c in rest for c in b[1:]) for b, s in toks]
    ins = table.inside(x1, x2)
    assert ins.tolist() == want
    sl = table.slice(x1, x2, min_fraction=0.0)
    assert sl.max_len == max((len(b) for (b, _), w in zip(toks, want) if w), default=0)
    for k in range(sl.max_len + 1):
        assert TokenTable.mask_to_ids(sl.upto[k]).tolist() == [i for i, ((b, _), w) in enumerate(zip(toks, want))
                                                                if w and len(b) <= k]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=0, max_size=5), st.booleans(), st.booleans()), max_size=40))
def test_restricted_trie_equals_building_it(toks):
    """VocabTrie.restricted (slices filter the vocabulary trie) gives the arrays of a trie built from the kept tokens."""
    table = TokenTable([b for b, _, _ in toks], special=[s for _, s, _ in toks])
    keep = np.array([k for _, _, k in toks], bool)
    want = VocabTrie(table.token_bytes, table.usable & keep)
    got = table.trie.restricted(keep)
    assert (got.n_nodes, got.max_depth) == (want.n_nodes, want.max_depth)
    for f in ("byte", "depth", "end", "tok_ids", "tok_off", "root_nodes", "root_bytes"):
        assert getattr(got, f).tolist() == getattr(want, f).tolist(), f


@pytest.mark.parametrize("schema,text", [
    ({"type": "string", "pattern": "^[a-z]+$"}, '"abcdefghijklmnopqrstuvwxyz"'),
    ({"type": "array", "items": {"type": "string", "format": "email"}}, '["ada.lovelace@example.com", "x@y.org"]'),
])
def test_restricted_slices_equal_plain_walks(bpe_table, schema, text):
    """Strings with no level slice (only a pattern or a format, no plain string in the lexer state) use
    the slice of the bytes they allow everywhere; masks equal full trie walks."""
    ix = _sliced_vs_plain(bpe_table, Grammar.from_json_schema(schema), text)
    assert any(v is not None for v in ix._slice_a.values())


def test_slice_cache_is_bounded():
    table = TokenTable([bytes([b]) for b in range(32, 127)] + [b""], special=[0] * 95 + [1], eos_ids=[95])
    table.MAX_SLICES = 4
    sets = []
    for i in range(6):
        x = np.zeros(256, bool)
        x[32:127] = True
        x[32 + i] = False
        sets.append(x)
        assert table.slice(x, min_fraction=0.0) is table.slice(x, min_fraction=0.0)
    assert len(table._slices) == 4
    keys = [(x.tobytes(), x.tobytes(), 0.0) for x in sets]
    assert keys[0] not in table._slices and keys[1] not in table._slices and keys[-1] in table._slices


def test_walk_ids_overflow_into_a_mask(bpe_table):
    """A walk lists its tokens as ids while they fit, and marks them all in the mask once they do not: the same
    tokens either way (from the JSON value position, with id buffers smaller and larger than needed)."""
    from memgram.grammar.matcher import GrammarIndex, _walk

    table, _ = bpe_table
    ix = GrammarIndex(Grammar.builtin("json"), table)
    t = ix.trie
    ok, useful = ix.tables_for(ix.parser.root.akey)

    def walk(cap, cfgs=ix._no_cfgs, mask_words=table.n_words):
        ids = np.zeros(cap, np.int32)
        mask = np.zeros(mask_words, np.uint32)
        _, n = _walk(ix.root_starts, 0, ix.trans, ix.bcls, ok, useful, t.byte, t.depth, t.end, t.tok_off, t.tok_ids,
                     t.root_nodes, t.root_bytes, ix.stk, ids, cfgs, mask, ix.ev_node, ix.ev_cfg)
        if n == -2:
            return n, None
        assert n < 0 or not mask.any()
        return n, set(ids[:n].tolist()) if n >= 0 else set(TokenTable.mask_to_ids(mask.view(np.int32)).tolist())

    n, full = walk(len(table))
    assert n == len(full) > 100
    for cap in (0, 1, 100, n - 1, n, n + 1):
        m, got = walk(cap)
        assert got == full and (m < 0) == (cap < n)
    # with an empty mask the walk stops instead (-2) once the ids do not fit; when they fit, nothing changes
    for cap in (0, 1, n - 1):
        assert walk(cap, mask_words=0)[0] == -2
    assert walk(n, mask_words=0) == (n, full)
    # with ``cfgs``: each listed token's last configuration, as stepping the lexer over its bytes gives
    cfgs = np.full(len(table), -7, np.int32)
    ids = np.zeros(len(table), np.int32)
    mask = np.zeros(table.n_words, np.uint32)
    _, n = _walk(ix.root_starts, 0, ix.trans, ix.bcls, ok, useful, t.byte, t.depth, t.end, t.tok_off, t.tok_ids,
                 t.root_nodes, t.root_bytes, ix.stk, ids, cfgs, mask, ix.ev_node, ix.ev_cfg)
    assert set(ids[:n].tolist()) == full and (cfgs[n:] == -7).all()
    for tid, c in zip(ids[:n].tolist(), cfgs[:n].tolist()):
        d = 0
        for b in table.token_bytes[tid]:
            d = int(ix.trans[d, ix.bcls[b]])
        assert d == c


def test_pieces_are_compact(bpe_table):
    """Cached walks keep their tokens as ids and share slice blocks: a piece holds a mask of its own only when its
    ids would take more room (the C++ pieces of a corpus function: ~70 bytes each instead of a 6 KB mask); walks kept
    for every acceptable set list at most ROOT_TOKENS tokens."""
    from memgram.grammar.matcher import GrammarIndex, Matcher

    table, tok = bpe_table
    for g, text in [(Grammar.builtin("cpp"), (CORPUS / sorted(p.name for p in CORPUS.glob("*.cpp"))[0]).read_text()),
                    (Grammar.from_json_schema({"type": "object", "properties": {"s": {"type": "string"}}}),
                     '{"s": "a long string with words"}')]:
        ix = GrammarIndex(g, table)
        m = Matcher(ix)
        for t in tok.encode(text)[:60]:
            m.mask()
            assert m.advance(t)
        blocks = {id(sl.upto) for sl in table._slices.values() if sl is not None}
        own = 0
        for base, ids, _ in ix._pieces.values():
            shared = base.base is not None and id(base.base) in blocks      # a row of a slice's blocks
            assert ids.nbytes <= table.n_words * 4
            if len(base) and not shared:
                own += 1
                assert len(ids) == 0 and int(np.unpackbits(base.view(np.uint8)).sum()) > table.n_words
        # the walks below events, kept for every acceptable set at once: bounded lists (or a walk per set)
        for r in ix._subs.values():
            assert r is False or 0 <= r[2] - r[1] <= ix.ROOT_TOKENS
        assert ix._pool_n + ix._xpool_n <= ix.FAST_POOL
        assert own <= (len(ix._pieces) + len(ix._subs)) // 4


@pytest.mark.parametrize("text", [
    # unit chains (completions cascade through the predicted part) with left recursion
    'start: e ";"\ne: e "+" t | t\nt: t "*" f | f\nf: "(" e ")" | "x" | "y"',
    # nullable symbols before, between and after, and a nonterminal completed by several chains at once
    'start: a b a "z" c\na: "a"? | b\nb: c c | "b"\nc: "c"?',
    # the start symbol completes through a unit chain, and again after more input
    'start: s\ns: s s | p\np: "(" s? ")" | "u"',
])
def test_parser_completions_match_reference(text):
    """Item sets complete through the cached per-(predicted part, symbol) cascades: the matcher agrees with
    ``completable`` on every token of a byte-level vocabulary along random walks (unit chains, nullable and
    left-recursive rules)."""
    g = Grammar.from_lark(text)
    alphabet = sorted({c for c in text if c in "+*;()xyabczu"})
    toks = [c.encode() for c in alphabet] + [(a + b).encode() for a in alphabet for b in alphabet]
    table = TokenTable(toks + [b""], special=[0] * len(toks) + [1], eos_ids=[len(toks)])
    for seed in range(4):
        check_walk(g, table, [], random.Random(seed), follow=0, random_steps=8, check_every=1, n_sample=len(toks),
                   budget_checks=10_000)


def test_matcher_runs_with_the_gc_paused_and_restores_it():
    """mask/advance run with the cyclic GC paused (the parser's long-lived items made its passes most of a C++
    mask's time); the collector's state is restored afterwards, also after an exception and when it was off."""
    import gc

    from memgram.grammar.api import without_gc
    from memgram.grammar.matcher import GrammarIndex

    seen = []

    @without_gc
    def boom():
        seen.append(gc.isenabled())
        raise ValueError

    assert gc.isenabled()
    with pytest.raises(ValueError):
        boom()
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(ValueError):
            boom()
        assert not gc.isenabled()
    finally:
        gc.enable()
    g = Grammar.from_lark('start: "a"+ "b"')
    table = TokenTable([b"a", b"ab", b"b", b""], special=[0, 0, 0, 1], eos_ids=[3])
    m = compile_matcher(g, table)
    m.index.FAST = 0        # masks made by collect's Python recursion (the composed path calls no Python code)
    orig = GrammarIndex.collect
    states = []

    def spy(self, *a, **k):
        states.append(gc.isenabled())
        return orig(self, *a, **k)

    GrammarIndex.collect = spy
    try:
        m.index._masks.clear()
        m.mask()
        assert m.advance(0)
        m.mask()
    finally:
        GrammarIndex.collect = orig
    assert states and not any(states) and gc.isenabled()


@pytest.mark.parametrize("which", ["schema", "json", "cpp"])
def test_walks_for_every_acceptable_set_give_the_same_masks(bpe_table, which):
    """Pieces filtered from a walk kept for every acceptable set (root walks made when the index is built, walks
    below events when first needed) equal pieces walked under their own set, along a document and random detours
    (JSON-schema strings with a length cut, a format, enums; JSON; C++, where most configurations list too much and
    keep walking per set)."""
    from memgram.grammar.matcher import GrammarIndex, Matcher

    table, tok = bpe_table
    if which == "schema":
        g = Grammar.from_json_schema(LEVEL_SCHEMA)
        text = '{"short": "ab", "free": "a \\"q\\" w", "mail": "ada@example.com", "tags": ["cyan", "x y"]}'
    elif which == "json":
        g = Grammar.builtin("json")
        text = '{"a": [1, -2.5e3, true, null, {"b": "c\\u00e9"}], "d": {}}'
    else:
        g = Grammar.builtin("cpp")
        text = (CORPUS / sorted(p.name for p in CORPUS.glob("*.cpp"))[0]).read_text()[:400]
    shared_ix = GrammarIndex(g, table)
    shared_ix.FAST = 0              # pieces through collect (the composed masks are checked below)
    shared_ix.precompute_slices()
    shared_ix.precompute_roots()
    fast_ix = GrammarIndex(g, table)
    fast_ix.precompute_slices()
    fast_ix.precompute_roots()
    fast_ix.precompute_walks()
    walked_ix = GrammarIndex(g, table)
    walked_ix.ROOT_BUDGET = 0
    walked_ix.precompute_slices()
    walked_ix.precompute_roots()
    slice_ix = GrammarIndex(g, table)
    slice_ix.SHARED_FIRST = 0       # a per-set slice sought before the kept walk is filtered
    slice_ix.precompute_slices()
    slice_ix.precompute_roots()
    a, b, s, f = Matcher(shared_ix), Matcher(walked_ix), Matcher(slice_ix), Matcher(fast_ix)
    rng = random.Random(5)
    for k, t in enumerate(tok.encode(text)[:80]):
        ma, mb = a.mask(), b.mask()
        assert np.array_equal(ma, mb), (which, k)
        assert np.array_equal(ma, s.mask()), (which, k)
        assert np.array_equal(ma, f.mask()), (which, k)
        assert s.advance(t)
        if k % 7 == 3:      # a detour through a random allowed token, then back
            allowed = TokenTable.mask_to_ids(ma)
            if len(allowed):
                ca, cb, cf = a.copy(), b.copy(), f.copy()
                x = int(rng.choice(allowed))
                if x not in table.eos_ids:
                    assert ca.advance(x) and cb.advance(x) and cf.advance(x)
                    mca = ca.mask()
                    assert np.array_equal(mca, cb.mask()) and np.array_equal(mca, cf.mask())
        assert a.advance(t) and b.advance(t) and f.advance(t)
    assert shared_ix.stats["shared"] > 0 and walked_ix.stats["shared"] == 0
    # composed by _compose (per-set pieces and walks below events as table walks) for most JSON masks; C++ walks
    # below events mostly list too many tokens to be kept, those masks go through collect
    assert which == "cpp" or fast_ix.stats["fast"] >= 20, fast_ix.stats
    assert shared_ix.stats["walks"] < walked_ix.stats["walks"]

    # SHARED_FIRST: where a configuration without a level slice has a kept root walk, no per-set slice is sought; the
    # old order sought one and never found any (a slice that large cannot sit next to a walk of <= ROOT_TOKENS tokens)
    def sought(ix):
        return [r for (c, _), r in ix._slice_a.items() if ix._slice_of.get(c) is None and ix._rt_span[c] is not None]

    assert sought(shared_ix) == []
    assert all(r is None for r in sought(slice_ix)) and (which == "cpp" or sought(slice_ix))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**6)), max_size=80))
def test_group_events_is_a_stable_grouping(events):
    """Events grouped by configuration in place: the stable sort by configuration, group bounds where it changes
    (already sorted, a few unsorted (insertion), many (argsort))."""
    from memgram.grammar.matcher import _group_events

    n = len(events)
    cfg = np.array([c for c, _ in events] + [99], np.int64)
    node = np.array([v for _, v in events] + [7], np.int64)
    bounds = np.zeros(n + 2, np.int64)
    n_g = _group_events(cfg, node, n, bounds)
    want = sorted(events, key=lambda e: e[0])
    assert list(zip(cfg[:n].tolist(), node[:n].tolist())) == want and cfg[n] == 99 and node[n] == 7
    keys = [c for c, _ in want]
    starts = [i for i in range(n) if i == 0 or keys[i] != keys[i - 1]]
    assert n_g == len(starts) and bounds[:n_g].tolist() == starts and bounds[n_g] == n

"""LexerAutomaton.lex vs a brute-force maximal-munch lexer built on re.fullmatch; the lookahead rule."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgram.grammar.errors import GrammarError
from memgram.grammar.lexer import LexerAutomaton, Terminal


# ----------------------------------------------------------------------------- brute-force reference
def _matches(t: Terminal, lexeme: bytes) -> bool:
    try:
        s = lexeme.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return re.fullmatch(t.pattern, s) is not None


def _labels(terms, matching):
    top = max(terms[k].priority for k in matching)
    cand = [k for k in matching if terms[k].priority == top]
    lits = [k for k in cand if terms[k].is_literal]
    return tuple(sorted(lits or cand))


def brute_lex(terms, data: bytes):
    out = []
    i = 0
    while i < len(data):
        for j in range(len(data), i, -1):
            m = [k for k, t in enumerate(terms) if _matches(t, data[i:j])]
            if m:
                out.append((i, j, _labels(terms, m)))
                i = j
                break
        else:
            return None
    return out


def lit(name, s, **kw):
    return Terminal(name, re.escape(s), True, **kw)


def rx(name, p, **kw):
    return Terminal(name, p, False, **kw)


# ----------------------------------------------------------------------------- random terminal sets
LIT_POOL = ["a", "ab", "abc", "b", "+", "++", "+=", "é", "éa", " ", "int", "in", "i"]
RX_POOL = ["[ab]+", "a*b", " +", "(ab)+", "[a-z]+", "[^ ]+", "é+", "\\++", "b[ab]?", "i[a-z]*", "[+=]{1,2}",
           "\\s", "[ab]{2,3}"]
DATA_ALPHABET = ["a", "b", "c", "+", "=", " ", "é", "i", "n", "t"]


@st.composite
def terminal_sets(draw):
    lits = draw(st.lists(st.sampled_from(LIT_POOL), unique=True, max_size=4))
    rxs = draw(st.lists(st.sampled_from(RX_POOL), unique=True, min_size=1, max_size=4))
    terms = []
    for k, s in enumerate(lits):
        terms.append(lit(f"L{k}", s, priority=draw(st.integers(0, 2)), ignored=draw(st.booleans()) and s == " "))
    for k, p in enumerate(rxs):
        terms.append(rx(f"R{k}", p, priority=draw(st.integers(0, 2)), ignored=draw(st.integers(0, 4)) == 0))
    order = draw(st.permutations(range(len(terms))))
    return [terms[k] for k in order]


data_strings = st.text(alphabet=st.sampled_from(DATA_ALPHABET), max_size=9).map(lambda s: s.encode())


@settings(max_examples=200, deadline=None)
@given(terminal_sets(), st.lists(data_strings, min_size=1, max_size=5))
def test_lex_matches_brute_force(terms, datas):
    L = LexerAutomaton(terms)
    for data in datas + [data[:-1] for data in datas if data]:  # the cut may split 'é'
        assert L.lex(data) == brute_lex(terms, data), (terms, data)


@settings(max_examples=150, deadline=None)
@given(terminal_sets(), data_strings)
def test_lookahead_rule(terms, data):
    """data[i:j] (accepted, ending in q) is the maximal munch at i iff running from q over data[j:]
    never reaches acceptance; if blocks_continuation(q), that holds for any continuation."""
    L = LexerAutomaton(terms)
    d = L.dfa
    for i in range(len(data)):
        q = d.start
        for j in range(i + 1, len(data) + 1):
            q = d.step(q, data[j - 1])
            if q < 0:
                break
            if not d.accept[q]:
                continue
            # brute force: is there a longer match at i?
            longer = any(_matches(t, data[i:k]) for k in range(j + 1, len(data) + 1) for t in terms)
            r = q
            hit = False
            for b in data[j:]:
                r = d.step(r, b)
                if r < 0:
                    break
                if d.accept[r]:
                    hit = True
                    break
            assert hit == longer
            if L.blocks_continuation(q):
                assert not longer
            assert L.blocks_continuation(q) == (not L.ext_live[q])


def _brute_ext_live(L, q, max_len=4):
    alphabet = sorted(set(b for t in DATA_ALPHABET for b in t.encode()))
    frontier = {q}
    for _ in range(max_len):
        nxt = set()
        for r in frontier:
            for b in alphabet:
                s = L.dfa.step(r, b)
                if s >= 0:
                    if L.dfa.accept[s]:
                        return True
                    nxt.add(s)
        frontier = nxt
    return False


def test_ext_live_brute_force_small():
    terms = [lit("IF", "if"), lit("IFF", "iff"), rx("ID", "[a-z]+"), lit("PLUS", "+"), lit("INC", "++"), lit("SP", " ", ignored=True)]
    L = LexerAutomaton(terms)
    for q in range(L.n_states):
        assert bool(L.ext_live[q]) == _brute_ext_live(L, q)
    plus = L.dfa.run(b"+")
    inc = L.dfa.run(b"++")
    sp = L.dfa.run(b" ")
    assert not L.blocks_continuation(plus)
    assert L.blocks_continuation(inc)
    assert L.blocks_continuation(sp)


# ----------------------------------------------------------------------------- fixed cases
def _names(L, data):
    toks = L.lex(data)
    return None if toks is None else [(data[a:b].decode(), [L.terminals[k].name for k in lb]) for a, b, lb in toks]


def test_keywords_vs_identifiers():
    terms = [lit("INT", "int"), rx("NAME", "[a-z_][a-z0-9_]*"), rx("WS", "[ ]+", ignored=True)]
    L = LexerAutomaton(terms)
    assert _names(L, b"int") == [("int", ["INT"])]
    assert _names(L, b"integer") == [("integer", ["NAME"])]
    assert _names(L, b"int x") == [("int", ["INT"]), (" ", ["WS"]), ("x", ["NAME"])]
    assert _names(L, b"in") == [("in", ["NAME"])]
    assert _names(L, b"int1") == [("int1", ["NAME"])]
    assert L.lex(b"int !") is None
    toks = L.lex_tokens(b"int  x")
    assert [t[2] for t in toks] == [(0,), (1,)]


def test_priority_beats_literal():
    terms = [lit("INT", "int"), rx("NAME", "[a-z]+", priority=2)]
    L = LexerAutomaton(terms)
    assert _names(L, b"int") == [("int", ["NAME"])]
    terms = [lit("INT", "int", priority=1), rx("NAME", "[a-z]+", priority=1)]
    assert _names(LexerAutomaton(terms), b"int") == [("int", ["INT"])]


def test_regex_ambiguity_keeps_both_labels():
    terms = [rx("KEY_NAME", '"name"'), rx("STRING", '"[^"]*"')]
    L = LexerAutomaton(terms)
    assert _names(L, b'"name"') == [('"name"', ["KEY_NAME", "STRING"])]
    assert _names(L, b'"other"') == [('"other"', ["STRING"])]
    q = L.dfa.run(b'"name"')
    assert L.labels[q] == (0, 1)
    assert int(L.label_bits[q, 0]) == 0b11


def test_operator_munch():
    ops = ["+", "++", "+=", "-", "--", ">", ">>", ">=", ">>=", "=", "=="]
    terms = [lit(f"OP{k}", o) for k, o in enumerate(ops)] + [rx("ID", "[a-z]+")]
    L = LexerAutomaton(terms)
    assert [x for x, _ in _names(L, b"a+++b")] == ["a", "++", "+", "b"]
    assert [x for x, _ in _names(L, b"x>>=y")] == ["x", ">>=", "y"]
    assert [x for x, _ in _names(L, b"x>>y")] == ["x", ">>", "y"]
    assert [x for x, _ in _names(L, b"a>>>=b")] == ["a", ">>", ">=", "b"]
    assert [x for x, _ in _names(L, b"a===b")] == ["a", "==", "=", "b"]


def test_ignored_and_label_bits():
    terms = [rx("WS", r"\s+", ignored=True), rx("NUM", r"[0-9]+"), lit("COMMA", ",")] + [lit(f"K{k}", f"k{k}") for k in range(70)] \
        + [rx("ID", "[a-z][a-z0-9]*")]
    L = LexerAutomaton(terms)
    assert L.label_bits.shape == (L.n_states, 2)
    assert L.label_bits.dtype == np.uint64
    for q in range(L.n_states):
        from_bits = tuple(k for k in range(len(terms)) if (int(L.label_bits[q, k // 64]) >> (k % 64)) & 1)
        assert from_bits == L.labels[q]
        assert bool(L.labels[q]) == bool(L.dfa.accept[q])
        assert L.ignored[q] == (0 in L.labels[q])
    assert _names(L, b"k65 k7x, 12") == [("k65", ["K65"]), (" ", ["WS"]), ("k7x", ["ID"]), (",", ["COMMA"]),
                                         (" ", ["WS"]), ("12", ["NUM"])]
    assert L.byte_class.shape == (256,) and L.n_classes == len(set(L.byte_class.tolist()))


def test_unicode_and_invalid_bytes():
    terms = [rx("W", r"\w+"), rx("SP", r"\s+", ignored=True)]
    L = LexerAutomaton(terms)
    data = "héllo wörld ٣٤".encode()
    assert L.lex(data) == brute_lex(terms, data)
    assert L.lex(b"abc\xff") is None
    assert L.lex("é".encode()[:1]) is None


def test_zero_width_and_bad_terminals_raise():
    with pytest.raises(GrammarError) as ei:
        LexerAutomaton([rx("EMPTY", "a*"), lit("B", "b")])
    assert ei.value.terminal == "EMPTY"
    with pytest.raises(GrammarError) as ei:
        LexerAutomaton([rx("ANCHOR", "^a")])
    assert ei.value.terminal == "ANCHOR"


def test_cpp_like_terminal_set():
    kws = ("auto bool break case char class const continue default delete do double else enum for if int long "
           "namespace new nullptr operator return short signed sizeof static static_cast struct switch template "
           "this throw true false typedef typename unsigned using void while").split()
    ops = ("+ - * / % ++ -- == != < > <= >= && || ! & | ^ ~ << >> <<= >>= += -= *= /= %= &= |= ^= = -> . :: : ; , ? "
           "( ) [ ] { } # ...").split()
    terms = [lit(k.upper(), k) for k in kws] + [lit(f"OP{k}", o) for k, o in enumerate(ops)]
    terms += [rx("IDENT", r"[A-Za-z_][A-Za-z_0-9]*"), rx("NUMBER", r"(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*"),
              rx("STRING", r'"([^"\\\n]|\\.)*"'), rx("WS", r"\s+", ignored=True),
              rx("LCOMMENT", r"//[^\n]*", ignored=True), rx("BCOMMENT", r"/\*([^*]|\*+[^*/])*\*+/", ignored=True)]
    L = LexerAutomaton(terms)
    src = b'int main() { vector<vector<int>> v; for (auto& x : v) x+=1; // done\n return a->b >>= 0x1F; /* c */ }'
    assert L.lex(src) == brute_lex(terms, src)
    toks = L.lex_tokens(src)
    texts = [src[a:b].decode() for a, b, _ in toks]
    assert ">>" in texts and "->" in texts and ">>=" in texts and "0x1F" in texts
    assert "// done" not in texts and "/* c */" not in texts


def test_lazy_quantifiers_stop_at_the_first_end():
    """Documented semantics: a terminal whose pattern uses a lazy quantifier has shortest-match
    semantics (no proper prefix of a lexeme is in its language), like re.match / lark's lexer for
    the usual delimited forms such as lark's common C_COMMENT and ESCAPED_STRING; longest match
    still decides between terminals."""
    lazy = [rx("C_COMMENT", r"/\*(.|\n)*?\*/"), rx("ID", "[a-z]+"), rx("WS", " +", ignored=True)]
    data = b"/* a */ b /* c */"
    assert [data[a:b] for a, b, _ in LexerAutomaton(lazy).lex(data)] == [b"/* a */", b" ", b"b", b" ", b"/* c */"]
    esc = [rx("STRING", r'".*?(?<!\\)(\\\\)*?"'), rx("COMMA", ","), rx("WS", " +", ignored=True)]
    quoted = b'"a\\"b", "c"'
    assert [quoted[a:b] for a, b, _ in LexerAutomaton(esc).lex(quoted)] == [b'"a\\"b"', b",", b" ", b'"c"']
    strict = [rx("C_COMMENT", r"/\*([^*]|\*+[^*/])*\*+/"), rx("ID", "[a-z]+"), rx("WS", " +", ignored=True)]
    assert [data[a:b] for a, b, _ in LexerAutomaton(strict).lex(data)] == [b"/* a */", b" ", b"b", b" ", b"/* c */"]
    first = LexerAutomaton(lazy).terminal_dfas[0]
    assert first.equivalent(LexerAutomaton(strict).terminal_dfas[0])


def test_terminal_prefix_suffix_cached():
    L = LexerAutomaton([rx("S", r'"[^"]*"'), lit("A", "abc")])
    p = L.prefix_dfa(0)
    assert p is L.prefix_dfa(0)
    assert p.fullmatch(b'"ab') and not p.fullmatch(b'a')
    s = L.suffix_dfa(1)
    assert s.fullmatch(b"bc") and s.fullmatch(b"") and not s.fullmatch(b"ab")


def test_terminal_with_empty_language_is_harmless():
    terms = [rx("NEVER", r"[^\s\S]"), rx("ID", "[a-z]+"), rx("WS", " +", ignored=True)]
    L = LexerAutomaton(terms)
    assert _names(L, b"ab c") == [("ab", ["ID"]), (" ", ["WS"]), ("c", ["ID"])]
    assert all(0 not in lb for lb in L.labels)


def test_also_and_minus_terminals():
    """A terminal's ``also`` intersects its language and ``minus`` takes words out, after the shortest-match rule of a
    lazy pattern; the label rule then treats it as any other terminal."""
    from memgram.grammar.lexer import LexerAutomaton, Terminal

    L = LexerAutomaton([Terminal("W", "[a-z]+", False, also="[a-z]{2,3}", minus="ab|cd"),
                        Terminal("C", "/[*].*?[*]/", False, minus="/[*]x[*]/"), Terminal("S", " ", False)])
    names = [t.name for t in L.terminals]

    def lexes(b: bytes):
        q = L.dfa.run(b)
        return q >= 0 and bool(L.dfa.accept[q]) and [names[i] for i in L.labels[q]]

    assert lexes(b"abc") == ["W"] and lexes(b"xy") == ["W"]
    assert not lexes(b"ab") and not lexes(b"cd") and not lexes(b"a") and not lexes(b"abcd")
    assert lexes(b"/*y*/") == ["C"] and not lexes(b"/*x*/") and not lexes(b"/*y*/*/")

"""The shipped C++ grammar (grammar/grammars/cpp.lark).

* every program of the corpus (tests/grammar/cpp_corpus, >= 60 real-style files) is accepted;
* mutations that are invalid C++ by construction (see cpp_mutations.py) are rejected;
* the lexing consequences of the documented semantics (">>" is one token, keywords beat
  identifiers, "a+++b" is "a ++ + b") and operator precedence (lark parse trees).
Engines: lark Earley + basic lexer always; memgram's Grammar when memgram.grammar.api exists.
"""
from __future__ import annotations

import shutil
import subprocess
import zlib

import lark
import pytest

from .cpp_mutations import MUTATION_KINDS, load_corpus, mutations, tokenize
from .grammar_engines import LarkEngine, engine_names, grammar_text, make_engine

CORPUS = load_corpus()
MUTANTS_PER_FILE = 2
MUTANTS = {
    name: mutations(src, MUTANTS_PER_FILE, zlib.crc32(name.encode()))
    for name, src in CORPUS.items()
}


@pytest.fixture(scope="module", params=engine_names())
def engine(request):
    return make_engine(request.param, grammar_text("cpp"), "start")


def test_corpus_size_and_tokenizes():
    assert len(CORPUS) >= 60
    for name, src in CORPUS.items():
        assert len(tokenize(src)) > 10, name


def test_mutations_cover_every_kind():
    kinds = {m.kind for ms in MUTANTS.values() for m in ms}
    assert kinds == set(MUTATION_KINDS)


def test_mutations_edit_exactly_one_token():
    """No mutation merges or splits neighbouring tokens: the token stream changes exactly as intended."""
    for name, src in CORPUS.items():
        before = [t.text for t in tokenize(src)]
        for m in MUTANTS[name]:
            after = [t.text for t in tokenize(m.text)]
            if m.kind.startswith("del_"):
                assert len(after) == len(before) - 1, (name, m.kind)
                i = next(k for k, t in enumerate(tokenize(src)) if t.start == m.at)
                assert after == before[:i] + before[i + 1:], (name, m.kind)
            else:
                assert len(after) == len(before) + 1, (name, m.kind)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_accepted(engine, name):
    assert engine.accepts(CORPUS[name]), name


@pytest.mark.parametrize("name,index", [(n, i) for n in sorted(CORPUS) for i in range(MUTANTS_PER_FILE)])
def test_mutation_rejected(engine, name, index):
    m = MUTANTS[name][index]
    assert not engine.accepts(m.text), (name, m.kind, m.at, m.text[max(0, m.at - 40):m.at + 40])


def _fn(body: str) -> str:
    return "int f() {\n" + body + "\n}\n"


VALID = [
    "",
    "#include <bits/stdc++.h>\nusing namespace std;\n",
    _fn("vector<vector<int>> a;"),
    _fn("vector<vector<vector<int>>> a;"),
    _fn("map<int, vector<vector<int>>> m;"),
    _fn("set<pair<int, vector<int>>> s;"),
    _fn("vector<map<int, set<int>>> v(3);"),
    _fn("auto p = static_cast<vector<int>>(x);"),
    _fn("int x = a+++b;"),
    _fn("x = y >> 2; z = y >>= 1;"),
    _fn("int integer = 1; int returned = integer;"),
    _fn("auto [a, b] = p; const auto& [c, d] = q;"),
    _fn("for (auto& [k, v] : m) {}"),
    _fn("if (int y = g(); y > 0) return y;"),
    _fn("x = a < b > c;"),
    _fn("long long unsigned_ = (long long)1 << 40;"),
    _fn("int a[3] = {1, 2, 3};"),
    _fn("auto l = [&, x](int y) mutable -> int { return x + y; };"),
    _fn("p->q.r[3](4)->s++;"),
    _fn("throw std::runtime_error(\"x\");"),
    _fn("x = a ? b : c ? d : e;"),
    _fn("delete[] p; delete q; p = new int[n]; q = new Node{1, nullptr};"),
    _fn("/* c */ x = 1; // line\n"),
    _fn('auto r = R"(a\\b "quoted" (x) ))"; auto s = R"()" "tail";'),
    "template <typename T> struct S { T v; S(T v) : v(v) {} bool operator<(const S& o) const { return v < o.v; } };",
    "typedef unsigned long long ull;",
    "template <typename T> using V = vector<vector<T>>; using ll = long long;",
    "int Foo::bar(int x) const { return x; } Foo::Foo(int a) : a_(a) {} Foo::~Foo() {}",
    "struct Cmp { bool operator()(int a, int b) const { return a > b; } }; priority_queue<int, vector<int>, Cmp> pq;",
    _fn("auto dfs = [&](auto&& self, int u) -> void { if (u) self(self, u - 1); }; dfs(dfs, 3);"),
    _fn("sort(a, a + n, greater<>()); memset(dp, -1, sizeof dp); while (cin >> x) s += x;"),
    _fn("if (auto it = m.find(k); it != m.end()) return it->second; else return string::npos;"),
    "class A { public: A() = default; virtual ~A() {} int get() const; private: int x_ = 0; };",
]

INVALID = [
    _fn("int int = 3;"),              # keyword is not an identifier
    _fn("int return;"),
    _fn("vector<vector<int> a;"),     # unclosed template argument list
    _fn("x = vector<int>>;"),         # ">>" closes two lists but only one is open
    _fn("x = a ++ + ;"),
    _fn("x = ;"),
    _fn("x = (a + b;"),
    _fn("x = a + b)"),
    _fn("if x > 0 { }"),
    _fn("for (int i = 0; i < n) {}"),
    _fn("return 1"),
    _fn("x = 1.;;x = 1..2;"),
    _fn("x = 'a;"),
    _fn("x = \"abc;"),
    _fn("int x = 1 int y = 2;"),
    _fn("a[1;"),
    _fn("do { x++; } while (x < 3)"),
    _fn("switch (x) { case : break; }"),
    _fn("auto l = [&](int y { return y; };"),
    _fn("/* unterminated comment"),
    _fn('auto r = R"(abc)\';'),
    "int f() {",
    "int f() }",
    "int f() { return 0; }}",
    "struct S { int x; }",             # missing ';' after a class definition
    "#include <vector>\nusing namespace std\nint f() { return 0; }",
]


@pytest.mark.parametrize("src", VALID)
def test_valid_snippets(engine, src):
    assert engine.accepts(src), src


@pytest.mark.parametrize("src", INVALID)
def test_invalid_snippets(engine, src):
    assert not engine.accepts(src), src


# ---------------------------------------------------------------- precedence (lark trees)
_LARK = None


def _lark_engine() -> LarkEngine:
    global _LARK
    if _LARK is None:
        _LARK = LarkEngine(grammar_text("cpp"), "start")
    return _LARK


def _shape(node):
    if isinstance(node, lark.Token):
        return str(node)
    kids = [_shape(c) for c in node.children if c is not None]
    if node.data in ("expr", "arg_list") and len(kids) == 1:
        return kids[0]
    return (str(node.data), *kids)


def _expr_shape(expr_text: str):
    tree = _lark_engine().parser.parse("int f() { return " + expr_text + "; }")
    node = next(t for t in tree.iter_subtrees_topdown() if t.data == "expr")
    return _shape(node)


@pytest.mark.parametrize("text,shape", [
    ("a + b * c", ("add_expr", "a", ("mul_expr", "b", "c"))),
    ("a - b - c", ("add_expr", ("add_expr", "a", "b"), "c")),
    ("a || b && c", ("logor_expr", "a", ("logand_expr", "b", "c"))),
    ("a | b ^ c & d", ("bitor_expr", "a", ("bitxor_expr", "b", ("bitand_expr", "c", "d")))),
    ("a & b == c", ("bitand_expr", "a", ("eq_expr", "b", "c"))),
    ("a == b <= c", ("eq_expr", "a", ("rel_expr", "b", "c"))),
    ("a <= b << c", ("rel_expr", "a", ("shift_expr", "b", "c"))),
    ("a << b + c", ("shift_expr", "a", ("add_expr", "b", "c"))),
    ("a * b % c", ("mul_expr", ("mul_expr", "a", "b"), "c")),
    ("-a * b", ("mul_expr", ("unary_expr", ("unary_op",), "a"), "b")),
    ("*p++", ("unary_expr", ("unary_op",), ("postfix_expr", "p", ("incdec",)))),
    ("a+++b", ("add_expr", ("postfix_expr", "a", ("incdec",)), "b")),
    ("a = b = c", ("assign_expr", "a", ("assign_op",), ("init_clause", ("assign_expr", "b", ("assign_op",), ("init_clause", "c"))))),
    ("a ? b : c = d", ("cond_expr", "a", "b", ("assign_expr", "c", ("assign_op",), ("init_clause", "d")))),
    ("a <=> b < c", ("rel_expr", ("cmp_expr", "a", "b"), "c")),
])
def test_operator_precedence(text, shape):
    got = _expr_shape(text)

    def strip(s):  # id_expr/qual_type/name_seg wrappers around identifiers are irrelevant here
        if isinstance(s, tuple):
            if s[0] in ("id_expr", "qual_type", "name_seg") and len(s) == 2:
                return strip(s[1])
            return (s[0], *[strip(x) for x in s[1:]])
        return s

    assert strip(got) == shape


def test_lark_direct_predictions_equivalent():
    """The prediction speed-up of the lark oracle (grammar_engines.py) recognises the same language."""
    fast = _lark_engine()
    slow = LarkEngine(grammar_text("cpp"), "start", direct_predictions=False)
    names = sorted(CORPUS, key=lambda n: len(CORPUS[n]))[:4]  # the slow setting is ~4x slower
    samples = [CORPUS[n] for n in names] + [m.text for n in names for m in MUTANTS[n]]
    samples += VALID[:8] + INVALID[:8]
    for s in samples:
        assert fast.accepts(s) == slow.accepts(s), s[:200]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++ (slow corpus validation)")
def test_corpus_and_mutations_checked_by_gxx(tmp_path):
    """Ground truth for the test data: g++ accepts every corpus file and rejects every mutation."""
    def gxx_ok(text):
        f = tmp_path / "t.cpp"
        f.write_text(text)
        return subprocess.run(["g++", "-std=c++20", "-fsyntax-only", "-w", str(f)],
                              capture_output=True).returncode == 0

    for name, src in CORPUS.items():
        assert gxx_ok(src), name
        for m in MUTANTS[name]:
            assert not gxx_ok(m.text), (name, m.kind, m.at)

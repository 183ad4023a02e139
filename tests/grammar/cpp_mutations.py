"""C++ test corpus loader, a small C++ tokenizer, and a generator of definitely-invalid mutations.

The corpus lives in tests/grammar/cpp_corpus/*.cpp (real-style HumanEval-X / competitive
programming functions, each file a translation unit that ``g++ -std=c++20 -fsyntax-only``
accepts).  Mutations work on tokens (never inside a string, char literal, comment or
preprocessor line) and are invalid C++ by construction:

* ``del_rbrace`` / ``del_rparen`` / ``del_lparen`` / ``del_rbracket``: one bracket token is
  replaced by a space -> the brackets of the file are unbalanced (a space, so that neighbouring
  tokens cannot merge under maximal munch).
* ``extra_lparen``: `` ( `` inserted before a ``;`` -> unbalanced.
* ``plus_before_semi``: `` + `` inserted before a ``;`` -> ``+`` with no right operand.
* ``assign_before_rparen``: `` = `` inserted before a ``)`` -> ``=`` with no right operand.
* ``del_semi``: a ``;`` replaced by a space, only where the previous token is not ``; { } (``
  and the next token is an identifier, a keyword or ``}`` (so the two neighbouring
  statements/declarations are juxtaposed with nothing that could join them).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "cpp_corpus"

KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export extern
false float for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr
operator or or_eq private protected public register reinterpret_cast requires return short signed
sizeof static static_assert static_cast struct switch template this thread_local throw true try
typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq
""".split())

_PUNCT = sorted("""
>>= <<= <=> ->* ... :: -> ++ -- << >> <= >= == != && || += -= *= /= %= &= |= ^= .*
{ } [ ] ( ) ; : , . ? ~ ! + - * / % ^ & | = < >
""".split(), key=len, reverse=True)

_TOKEN_RE = re.compile(
    r"(?P<ws>[ \t\r\n\f\v]+)"
    r"|(?P<comment>//[^\n]*|/\*(?:[^*]|\*+[^*/])*\*+/)"
    r"|(?P<preproc>#(?:[^\n\\]|\\[^\n]|\\\n)*)"
    r'|(?P<raw>R"\((?:[^)]|\)+[^)"])*\)+")'
    r"|(?P<string>(?:u8|[uUL])?\"(?:[^\"\\\n]|\\[^\n])*\")"
    r"|(?P<char>(?:u8|[uUL])?'(?:[^'\\\n]|\\[^\n])+')"
    r"|(?P<number>0[xX][0-9a-fA-F](?:'?[0-9a-fA-F])*[uUlLzZ]*|0[bB][01](?:'?[01])*[uUlLzZ]*"
    r"|[0-9](?:'?[0-9])*(?:\.(?:[0-9](?:'?[0-9])*)?)?(?:[eE][+-]?[0-9]+)?[uUlLfFzZ]*"
    r"|\.[0-9](?:'?[0-9])*(?:[eE][+-]?[0-9]+)?[fFlL]*)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>" + "|".join(re.escape(p) for p in _PUNCT) + ")"
)


@dataclass(frozen=True)
class Tok:
    kind: str  # preproc string char number ident keyword punct
    text: str
    start: int
    end: int


def tokenize(src: str) -> list[Tok]:
    out, pos = [], 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if m is None:
            raise ValueError(f"cannot tokenize at {pos}: {src[pos:pos + 20]!r}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            text = m.group()
            if kind == "ident" and text in KEYWORDS:
                kind = "keyword"
            out.append(Tok(kind, text, m.start(), m.end()))
        pos = m.end()
    return out


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.cpp"))


def load_corpus() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in corpus_files()}


@dataclass(frozen=True)
class Mutation:
    kind: str
    text: str
    at: int  # character offset of the edit


def _replace(src: str, tok: Tok, new: str) -> str:
    return src[:tok.start] + new + src[tok.end:]


def _insert_before(src: str, tok: Tok, new: str) -> str:
    return src[:tok.start] + new + src[tok.start:]


def candidate_sites(src: str) -> dict[str, list[int]]:
    """Token indices where each mutation kind applies."""
    toks = tokenize(src)
    sites: dict[str, list[int]] = {k: [] for k in MUTATION_KINDS}
    for i, t in enumerate(toks):
        if t.kind != "punct":
            continue
        if t.text == "}":
            sites["del_rbrace"].append(i)
        elif t.text == ")":
            sites["del_rparen"].append(i)
            sites["assign_before_rparen"].append(i)
        elif t.text == "(":
            sites["del_lparen"].append(i)
        elif t.text == "]":
            sites["del_rbracket"].append(i)
        elif t.text == ";":
            sites["plus_before_semi"].append(i)
            sites["extra_lparen"].append(i)
            prev = toks[i - 1] if i > 0 else None
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if (prev is not None and not (prev.kind == "punct" and prev.text in (";", "{", "}", "("))
                    and nxt is not None
                    and (nxt.kind in ("ident", "keyword") or (nxt.kind == "punct" and nxt.text == "}"))):
                sites["del_semi"].append(i)
    return sites


MUTATION_KINDS = ("del_rbrace", "del_rparen", "del_lparen", "del_rbracket", "extra_lparen",
                  "plus_before_semi", "assign_before_rparen", "del_semi")


def apply_mutation(src: str, kind: str, index: int) -> Mutation:
    t = tokenize(src)[index]
    if kind in ("del_rbrace", "del_rparen", "del_lparen", "del_rbracket", "del_semi"):
        return Mutation(kind, _replace(src, t, " "), t.start)
    if kind == "extra_lparen":
        return Mutation(kind, _insert_before(src, t, " ( "), t.start)
    if kind == "plus_before_semi":
        return Mutation(kind, _insert_before(src, t, " + "), t.start)
    if kind == "assign_before_rparen":
        return Mutation(kind, _insert_before(src, t, " = "), t.start)
    raise ValueError(kind)


def mutations(src: str, n: int, seed: int) -> list[Mutation]:
    """``n`` mutations of distinct kinds where possible, chosen deterministically from ``seed``."""
    rng = random.Random(seed)
    sites = candidate_sites(src)
    kinds = [k for k in MUTATION_KINDS if sites[k]]
    rng.shuffle(kinds)
    out = []
    for kind in (kinds * n)[:n]:
        out.append(apply_mutation(src, kind, rng.choice(sites[kind])))
    return out

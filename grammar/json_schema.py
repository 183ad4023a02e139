"""JSON Schema -> grammar.

``schema_to_lark(schema, whitespace="flexible"|"compact", strict_key_order=False)`` returns
``(lark_text, start_rule)``; ``schema_to_cfg(schema, ...)`` builds the CFG that lark's loader makes of that
text directly (``Grammar.from_json_schema`` uses it: parsing the generated text with lark's loader was ~40 %
of a schema's compile). The generated rules are plain BNF, so nothing of lark's EBNF expansion is needed.  The grammar is meant for the documented lexing semantics of
memgram.grammar (longest match; among terminals matching the same lexeme, literals beat
regexes, and all regex terminals remain candidates).  Every fixed string (property name, enum
or const string) is therefore a *regex* terminal such as ``/"name"/``: a string value that
happens to spell a key still lexes as a generic STRING candidate too.

Supported keywords (the other keywords of the JSON Schema vocabularies, drafts 4 to 2020-12, that constrain
instances -- ``not``, ``if``, ``dependencies``, ``multipleOf``, ... (``UNSUPPORTED``) -- raise
``UnsupportedSchemaError(message, keyword, pointer)`` with the JSON pointer of the keyword; annotations
(``title``, ``description``, ``default``, ``examples``, ...), keywords of no JSON Schema vocabulary (``id`` of
draft 4, ``example``, ``x-...``, tool-specific ones) and ``format`` values no draft defines (``SPEC_FORMATS``) are
ignored, as validators ignore them):

* ``type`` (a name or a list), ``enum``, ``const`` (with ``type`` beside them only),
* objects: ``properties``, ``required``, ``additionalProperties`` (absent = true, false, a
  schema), ``patternProperties`` (see below),
* arrays: ``items`` (schema or false), ``prefixItems``, ``minItems``, ``maxItems``,
  ``uniqueItems: false``,
* strings: ``minLength``, ``maxLength``, ``pattern``, ``format`` (date, time, date-time, email,
  uuid, ipv4, uri, hostname),
* numbers: ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` (exact digit
  range regexes for integers; numbers need integral bounds),
* ``anyOf``; ``oneOf`` when the branches are provably disjoint; ``allOf`` merged where sound;
  ``$ref`` to local JSON pointers (``#``, ``#/$defs/x``, ``#/definitions/x``, ...) including
  recursion; boolean schemas (``true`` = any JSON value; ``false`` raises, except as
  ``items``/``additionalProperties``/property schemas, where it removes the possibility).

Exactness.  The language is *exactly* the set of valid instances, except for these documented
restrictions, each of which only removes spellings (never admits an invalid instance):

1. Numbers are accepted in plain JSON syntax; a number constrained by ``integer`` is written
   without fraction or exponent (``1``, not ``1.0`` or ``1e0``); a bounded ``number`` is written
   without exponent; negative zero (``-0``, ``-0.0``) is not produced under numeric bounds.  ``const``/``enum`` numbers are
   matched in their canonical spellings (``repr``-style, integers without fraction).
2. Strings whose *value* is compared with something -- property names of an object that
   declares properties, ``enum``/``const`` strings -- are matched in canonical spelling (the one
   ``json.dumps(..., ensure_ascii=False)`` writes: raw characters, short escapes for
   ``\\" \\\\ \\b \\f \\n \\r \\t``, lowercase ``\\u00XX`` for other control characters).
3. ``minLength``/``maxLength`` strings: any spelling except surrogate ``\\uD800-\\uDFFF``
   escapes (non-BMP characters are written raw), so that a length is counted unambiguously.
4. ``pattern``/``format`` strings contain no escapes at all: their characters are written raw,
   and the pattern is matched against them with ``re.search`` semantics (``^``/``$`` anywhere outside a
   repetition, e.g. ``^(a|$)``; other anchors raise).  A pattern whose
   literal characters could only match a character that needs escaping raises.  With
   ``minLength``/``maxLength`` beside them the string is in both languages (a terminal with
   ``also``: the pattern's DFA intersected with the length's; lark text writes it as a lookahead).
5. ``format`` is defined by the regexes in ``FORMATS`` (RFC 3339 dates/times with real
   calendar days, dotted-quad IPv4 without leading zeros, 8-4-4-4-12 UUIDs, a dot-atom e-mail
   address, an RFC 3986-style absolute URI); where a validator's own check is laxer (jsonschema
   only looks for "@" in an e-mail), the grammar is the stricter of the two.
6. Duplicate keys: declared properties occur at most once; keys admitted through
   ``additionalProperties``/``patternProperties`` may repeat (a CFG cannot exclude that), and
   every occurrence must then satisfy the schema.

Objects.  With ``strict_key_order=True`` declared properties appear in declared order
(additional properties may be interleaved anywhere).  Otherwise any order is accepted, encoded
exactly by one nonterminal per subset of already-used declared properties (2^k of them); this
is done for at most ``MAX_ANY_ORDER_PROPERTIES`` declared properties per object and raises
``UnsupportedSchemaError`` (keyword ``properties``) beyond that, telling the caller to pass
``strict_key_order=True``.  Nothing is silently weakened.

Property dependencies (``dependentRequired``; ``dependencies`` with a list, or with a schema of only ``required`` and
``properties`` that are ``false``) among declared properties are part of the any-order encoding (a subset of used
properties is final only with every present property's needs present; a property excluded by a present one is not
offered); beside ``strict_key_order`` or on undeclared keys they raise. ``dependencies`` is applied whatever the
draft (under 2020-12 it is no longer a keyword: instances it rejects there are refused, never the reverse).

``multipleOf`` is supported for 1, 2 or 5 times a power of ten (integers, by their last digits) and 10^-d (at most d
fraction digits, no exponent: restriction 1 below); beside bounds only ``multipleOf: 1``; other values raise.

``not`` is supported inside a string schema, excluding strings (an enum/const of strings, a pattern, a format or a
length bound): the string terminal minus every spelling of the excluded strings; any other ``not`` raises.

``patternProperties`` is supported when the pattern keys cannot be declared property names (checked with
``re.search``) and, with several patterns, their schemas are identical (so a key matching two patterns needs no
intersection). Beside an ``additionalProperties`` schema, the additional keys are the canonical strings minus the
declared keys and minus the canonical spelling of every key a pattern matches (``_pattern_body(p, canonical=True)``,
``$`` also before a final newline as Python's ``re`` reads it), so a key never gets the wrong schema.
"""
from __future__ import annotations

import contextvars
import json
import math
import re

try:  # Python >= 3.11
    import re._parser as _sre_parse  # type: ignore[import-not-found]
    import re._constants as _sre_c  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]
    import sre_constants as _sre_c  # type: ignore[no-redef]

from .errors import UnsupportedSchemaError

__all__ = ["schema_to_lark", "schema_to_cfg", "MAX_ANY_ORDER_PROPERTIES", "integer_range_regex"]

MAX_ANY_ORDER_PROPERTIES = 8  # 2^k nonterminals, k 2^k rules: 8 properties ~1,400 rules, ~20-30 ms
MAX_ARRAY_STATES = 4096
# Repetitions (array elements, any JSON's members and values) are left-recursive: Earley items then keep the same
# origins from one element to the next, so the parser's item sets repeat (grammar/chart_nb.py finds them again) and a
# long array costs no new parser state per element; right recursion nests one level deeper per element.

ANNOTATIONS = frozenset({
    "title", "description", "examples", "default", "$comment", "$schema", "$id", "deprecated",
    "readOnly", "writeOnly", "$defs", "definitions",
})
STRUCTURAL = frozenset({
    "type", "enum", "const", "properties", "required", "additionalProperties",
    "patternProperties", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "anyOf", "oneOf", "allOf", "$ref", "dependencies", "dependentRequired",
})
# keywords of the JSON Schema vocabularies (drafts 4 to 2020-12) that assert something not implemented here: they raise
UNSUPPORTED = frozenset({
    "not", "if", "then", "else", "dependentSchemas", "propertyNames",
    "contains", "minContains", "maxContains", "unevaluatedProperties", "unevaluatedItems",
    "minProperties", "maxProperties", "additionalItems", "$dynamicRef", "$recursiveRef", "divisibleBy", "disallow",
    "extends",
})
TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")


def _assertions(schema: dict) -> dict:
    """The keywords of a schema object that constrain instances (implemented or not): annotations and keywords of no
    JSON Schema vocabulary (``id`` of draft 4, ``example``, ``x-...``, tool-specific ones) are dropped, as
    validators do (JSON Schema 2020-12 core, 6.5: unknown keywords are collected as annotations)."""
    if all(k in STRUCTURAL or k in UNSUPPORTED for k in schema):
        return schema
    return {k: v for k, v in schema.items() if k in STRUCTURAL or k in UNSUPPORTED}

# ------------------------------------------------------------------ string spellings
# one JSON string character, any spelling (RFC 8259)
_ANY_CHAR = r'(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})'
STRING_RE = '"' + _ANY_CHAR + '*"'
# any spelling except surrogate escapes: one unit == one code point
_CP_CHAR = (r'(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}'
            r'|[dD][0-7][0-9a-fA-F]{2}))')
_RAW_CHAR = r'[^"\\\x00-\x1f]'
_WS_RE = r"[ \t\n\r]+"  # insignificant whitespace (RFC 8259), ignored between tokens with whitespace="flexible"
# the fixed punctuation and keywords of JSON, as named terminals (the names lark gives them)
_LITERAL_NAMES = {"{": "LBRACE", "}": "RBRACE", "[": "LSQB", "]": "RSQB", ",": "COMMA", ":": "COLON",
                  "null": "NULL", "true": "TRUE", "false": "FALSE"}
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def canonical_spelling(ch: str) -> str:
    """The JSON spelling json.dumps(ensure_ascii=False) uses for one character."""
    if ch in _SHORT:
        return _SHORT[ch]
    if ord(ch) < 0x20:
        return "\\u%04x" % ord(ch)
    return ch


# every canonical spelling of a character that is not written raw
_CANON_ESCAPES = {c: canonical_spelling(c) for c in list(_SHORT) + [chr(i) for i in range(0x20)]}


def _re_lit(s: str) -> str:
    """A regex matching exactly the text s (safe inside a lark /.../ literal)."""
    out = []
    for ch in s:
        if ch.isalnum() or ch == "_" or (ord(ch) > 0x7f and ch.isprintable()):
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append("\\" + ch if not ch.isspace() else "\\x%02x" % ord(ch))
    return "".join(out)


def _class_char(ch: str) -> str:
    if ord(ch) < 0x20 or ord(ch) == 0x7f:
        return "\\x%02x" % ord(ch)
    if ch in "\\]^-[/":
        return "\\" + ch
    if ch.isspace() or not ch.isprintable():
        return "\\u%04x" % ord(ch) if ord(ch) <= 0xFFFF else "\\U%08x" % ord(ch)
    return ch


def canonical_string_regex(value: str) -> str:
    """Regex of the canonical JSON spelling of the string ``value`` (quotes included)."""
    return '"' + "".join(_re_lit(canonical_spelling(c)) for c in value) + '"'


def _not_in_regex(keys: set[str]) -> str:
    """Regex body (no quotes) of canonical spellings of every string NOT in ``keys``."""
    if not keys:
        return _canon_char_except(set()) + "*"
    alts = []
    if "" not in keys:
        alts.append("")
    firsts = {k[0] for k in keys if k}
    other = _canon_char_except(firsts)
    alts.append(other + _canon_char_except(set()) + "*")
    for c in sorted(firsts):
        rest = {k[1:] for k in keys if k and k[0] == c}
        alts.append(_re_lit(canonical_spelling(c)) + "(?:" + _not_in_regex(rest) + ")")
    return "(?:" + "|".join(alts) + ")"


def _canon_char_except(chars: set[str]) -> str:
    """One canonical character spelling whose decoded character is not in ``chars``."""
    raw_excl = "".join(_class_char(c) for c in sorted(chars) if c not in _CANON_ESCAPES)
    alts = ['[^"\\\\\\x00-\\x1f' + raw_excl + "]"]
    if not (chars & set(_CANON_ESCAPES)):
        alts.append(_CANON_ESCAPE_RE)
    else:
        for c, spelling in sorted(_CANON_ESCAPES.items()):
            if c not in chars:
                alts.append(_re_lit(spelling))
    return "(?:" + "|".join(alts) + ")"


# all canonical escape spellings: short escapes, and lowercase \u00XX for the other controls
_CANON_ESCAPE_RE = r'\\["\\bfnrt]|\\u00(?:0[0-7bef]|1[0-9a-f])'
# a string in canonical spelling
_CANON_STRING_RE = '"' + _canon_char_except(set()) + '*"'


# ------------------------------------------------------------------ integer ranges
def _same_length_range(lo: str, hi: str) -> list[str]:
    """Alternatives matching decimal digit strings d with lo <= d <= hi, len(lo) == len(hi)."""
    if lo == hi:
        return [lo]
    if len(lo) == 1:
        return ["[%s-%s]" % (lo, hi) if lo != hi else lo]
    if lo[0] == hi[0]:
        return [lo[0] + "(?:" + "|".join(_same_length_range(lo[1:], hi[1:])) + ")"]
    n = len(lo) - 1
    out = []
    # lo[0] followed by >= lo[1:]
    if lo[1:] == "0" * n:
        first_lo = int(lo[0])
    else:
        out.append(lo[0] + "(?:" + "|".join(_same_length_range(lo[1:], "9" * n)) + ")")
        first_lo = int(lo[0]) + 1
    if hi[1:] == "9" * n:
        last_hi = int(hi[0])
        tail = None
    else:
        last_hi = int(hi[0]) - 1
        tail = hi[0] + "(?:" + "|".join(_same_length_range("0" * n, hi[1:])) + ")"
    if first_lo <= last_hi:
        d = str(first_lo) if first_lo == last_hi else "[%d-%d]" % (first_lo, last_hi)
        out.append(d + "[0-9]" + ("{%d}" % n if n > 1 else ""))
    if tail is not None:
        out.append(tail)
    return out


def integer_range_regex(lo: int, hi: int | None) -> str | None:
    """Regex for canonical decimal spellings (no sign, no leading zeros) of lo <= n <= hi.

    ``lo >= 0``; ``hi`` None means unbounded.  Alternatives are ordered longest first, so a
    first-match regex engine also finds the longest match.  None if the range is empty.
    """
    assert lo >= 0
    if hi is not None and hi < lo:
        return None
    alts: list[str] = []
    if hi is None:
        width = len(str(lo))
        alts.append("[1-9][0-9]{%d,}" % width)  # more digits than lo: all larger
        hi_same = 10 ** width - 1
    else:
        hi_same = hi
    for width in range(len(str(hi_same)), len(str(lo)) - 1, -1):
        a = max(lo, 10 ** (width - 1) if width > 1 else 0)
        b = min(hi_same, 10 ** width - 1)
        if a <= b:
            alts.extend(_same_length_range(str(a), str(b)))
    return "(?:" + "|".join(alts) + ")"


# ------------------------------------------------------------------ formats (raw characters only)
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MD = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
DATE_RE = "(?:" + _YEAR + "-" + _MD + "|" + _LEAP + "-02-29)"
TIME_RE = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?(?:[zZ]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
# the formats the JSON Schema drafts define (validators may check these; the others are annotations)
SPEC_FORMATS = frozenset({
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri",
    "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer", "relative-json-pointer",
    "regex", "color", "host-name", "ip-address", "utc-millisec",
})
FORMATS = {
    "date": DATE_RE,
    "time": TIME_RE,
    "date-time": DATE_RE + "[tT]" + TIME_RE,
    "email": r"[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]+)*@"
             r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "ipv4": r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])",
    "uri": r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+",
    # a URI, or a relative reference: its first path segment has no ":" (else it would read as a scheme)
    "uri-reference": (r"(?:[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+"
                      r"|[A-Za-z0-9\-._~@!$&'()*+,;=%]*(?:[\/?#][A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]*)?)"),
    "hostname": r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
}


# ------------------------------------------------------------------ pattern -> raw-char regex
_EXCL = '"\\\\\\x00-\\x1f'  # class body excluded from raw string characters


class _PatternError(Exception):
    pass


_CANONICAL = contextvars.ContextVar("canonical_pattern", default=False)


def _pattern_body(pattern: str, canonical: bool = False) -> str:
    """Regex over raw string characters for values v with re.search(pattern, v); ``canonical``: over canonical
    spellings instead (the characters that need a JSON escape written as :func:`canonical_spelling` writes them), the
    spellings of every matching value once."""
    token = _CANONICAL.set(canonical)
    try:
        return _pattern_body_(pattern)
    finally:
        _CANONICAL.reset(token)


def _escapes_where(match) -> list[str]:
    """Canonical escape spellings (regexes) of the characters needing one for which ``match(ch)`` holds."""
    return [_re_lit(sp) for ch, sp in sorted(_CANON_ESCAPES.items()) if match(ch)]


def _with_escapes(raw: str | None, escapes: list[str]) -> str:
    alts = ([raw] if raw else []) + escapes
    if not alts:
        raise _PatternError("character class matches nothing")
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _pattern_body_(pattern: str) -> str:
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as e:
        raise _PatternError(f"invalid regex: {e}") from e
    flags = parsed.state.flags & ~(re.UNICODE | getattr(_sre_c, "SRE_FLAG_UNICODE", 0))
    if flags:
        raise _PatternError("inline flags are not supported")
    canon = _CANONICAL.get()
    anyc = _canon_char_except(set()) + "*" if canon else "[^" + _EXCL + "]*"
    alts = []
    for (b, z), (r, eps) in sorted(_anchor_classes(list(parsed)).items()):
        y = r if not eps else ("(?:" + r + ")?" if r is not None else "")
        if y is None:
            continue
        # ($ as Python's re also reads it, before a final newline: over canonical spellings that newline is there)
        end = ("(?:" + _re_lit("\\n") + ")?" if canon else "") if z else anyc
        alts.append(("" if b else anyc) + "(?:" + y + ")" + end)
    if not alts:
        raise _PatternError("no string can match (its anchors cannot hold)")
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


_AT_BEGIN = (_sre_c.AT_BEGINNING, _sre_c.AT_BEGINNING_STRING)
_AT_END = (_sre_c.AT_END, _sre_c.AT_END_STRING)


def _has_anchor(items) -> bool:
    for op, av in items:
        if op is _sre_c.AT:
            return True
        if op is _sre_c.SUBPATTERN and _has_anchor(av[3]):
            return True
        if op is _sre_c.BRANCH and any(_has_anchor(b) for b in av[1]):
            return True
        if op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and _has_anchor(av[2]):
            return True
    return False


def _anchor_classes(items) -> dict:
    """The strings a regex sequence matches, by the anchors on the way: {(b, z): (regex of the non-empty ones or
    None, whether the empty one is in)}, b = a ``^`` held (nothing of the match before it), z = a ``$`` held
    (nothing after it). Ways where an anchor cannot hold (``^`` after a character, ``$`` before one) are dropped. The
    search semantics of a pattern is then, per class, anything (unless b) + the class + anything (unless z)."""
    if not _has_anchor(items):
        return {(0, 0): ("(?:" + _emit_seq(items) + ")", False)} if items else {(0, 0): (None, True)}
    acc = {(0, 0): (None, True)}
    for op, av in items:
        acc = _anchor_concat(acc, _anchor_item(op, av))
    return acc


def _anchor_item(op, av) -> dict:
    c = _sre_c
    if op is c.AT:
        if av in _AT_BEGIN:
            return {(1, 0): (None, True)}
        if av in _AT_END:
            return {(0, 1): (None, True)}
        raise _PatternError(f"anchor {av} is not supported")
    if op is c.SUBPATTERN:
        group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _PatternError("scoped flags are not supported")
        return _anchor_classes(sub)
    if op is c.BRANCH:
        out: dict = {}
        for b in av[1]:
            for k, (r, e) in _anchor_classes(b).items():
                _add_class(out, k, r, e)
        return _grouped(out)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and _has_anchor(av[2]):
        raise _PatternError("anchors inside a repetition are not supported")
    return {(0, 0): (_emit(op, av), False)}


def _add_class(out: dict, k, r, e) -> None:
    """Union (regex r of non-empty strings or None, empty string in: e) into class k of ``out``."""
    r0, e0 = out.get(k, (None, False))
    out[k] = (r if r0 is None else (r0 if r is None else r0 + "|" + r), e0 or e)


def _grouped(out: dict) -> dict:
    return {k: (None if r is None else "(?:" + r + ")", e) for k, (r, e) in out.items()}


def _anchor_concat(xs: dict, ys: dict) -> dict:
    out: dict = {}
    for (b1, z1), (r1, e1) in xs.items():
        for (b2, z2), (r2, e2) in ys.items():
            k = (b1 | b2, z1 | z2)
            if e1 and e2:
                _add_class(out, k, None, True)
            if e1 and r2 is not None and not z1:          # a $ of the left part needs nothing after it
                _add_class(out, k, r2, False)
            if r1 is not None and e2 and not b2:          # a ^ of the right part needs nothing before it
                _add_class(out, k, r1, False)
            if r1 is not None and r2 is not None and not z1 and not b2:
                _add_class(out, k, "(?:" + r1 + ")(?:" + r2 + ")", False)
    return _grouped(out)


def _emit_seq(items) -> str:
    return "".join(_emit(op, av) for op, av in items)


def _lit(code: int) -> str:
    ch = chr(code)
    if _CANONICAL.get() and ch in _CANON_ESCAPES:
        return _re_lit(_CANON_ESCAPES[ch])
    if ch in '"\\' or code < 0x20:
        raise _PatternError(f"pattern character {ch!r} would need a JSON escape")
    return _re_lit(ch)


def _emit(op, av) -> str:
    c = _sre_c
    if op is c.LITERAL:
        return _lit(av)
    canon = _CANONICAL.get()
    if op is c.NOT_LITERAL:
        raw = "[^" + _class_char(chr(av)) + _EXCL + "]"
        return _with_escapes(raw, _escapes_where(lambda ch: ord(ch) != av)) if canon else raw
    if op is c.ANY:
        raw = "[^\\n" + _EXCL + "]"
        return _with_escapes(raw, _escapes_where(lambda ch: ch != "\n")) if canon else raw
    if op is c.IN:
        if not canon:
            return _emit_class(av)
        return _with_escapes(_emit_class(av, raw_may_be_empty=True), _escapes_where(lambda ch: _class_matches(av, ch)))
    if op is c.SUBPATTERN:
        group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _PatternError("scoped flags are not supported")
        return "(?:" + _emit_seq(sub) + ")"
    if op is c.BRANCH:
        return "(?:" + "|".join(_emit_seq(b) for b in av[1]) + ")"
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        lo, hi, sub = av
        inner = "(?:" + _emit_seq(sub) + ")"
        if hi is c.MAXREPEAT:
            return inner + ("*" if lo == 0 else "+" if lo == 1 else "{%d,}" % lo)
        return inner + ("{%d}" % lo if lo == hi else "{%d,%d}" % (lo, hi))
    raise _PatternError(f"regex feature {op} is not supported")


_CATEGORY = {
    "CATEGORY_DIGIT": ("\\d", False), "CATEGORY_NOT_DIGIT": ("\\d", True),
    "CATEGORY_SPACE": ("\\s", False), "CATEGORY_NOT_SPACE": ("\\s", True),
    "CATEGORY_WORD": ("\\w", False), "CATEGORY_NOT_WORD": ("\\w", True),
}


def _emit_class(items, raw_may_be_empty: bool = False) -> str | None:
    """The class over raw string characters (those needing a JSON escape dropped); None when that leaves nothing
    and ``raw_may_be_empty`` (else it raises)."""
    negate = False
    pos, neg_cats = [], []
    for op, av in items:
        c = _sre_c
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            pos.append(_class_char(chr(av)))
        elif op is c.RANGE:
            pos.append(_class_char(chr(av[0])) + "-" + _class_char(chr(av[1])))
        elif op is c.CATEGORY:
            esc, is_neg = _CATEGORY[str(av)]
            (neg_cats if is_neg else pos).append(esc)
        else:
            raise _PatternError(f"class item {op} is not supported")
    if neg_cats and (negate or pos or len(neg_cats) > 1):
        raise _PatternError("negated categories (\\D \\S \\W) are only supported alone in a class")
    if neg_cats:
        return "[^" + neg_cats[0] + _EXCL + "]"
    if negate:
        return "[^" + "".join(pos) + _EXCL + "]"
    # positive class: drop the characters a raw JSON string cannot contain, by intersecting
    # with the complement: [class] & [^EXCL] == (?![EXCL])[class]; without lookahead we
    # subtract by construction: \s and explicit ranges may include controls/quote/backslash
    parts = []
    for p in pos:
        if p == "\\s":
            parts.append(" \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\x85")
        elif p in ("\\d", "\\w"):
            parts.append(p)
        else:
            parts.append(_subtract_range(p))
    body = "".join(parts)
    if not body:
        if raw_may_be_empty:
            return None
        raise _PatternError("character class matches only characters that need JSON escapes")
    return "[" + body + "]"


def _class_matches(items, ch: str) -> bool:
    """Whether the parsed character class ``items`` matches ``ch``."""
    c, negate, hit = _sre_c, False, False
    for op, av in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            hit = hit or ord(ch) == av
        elif op is c.RANGE:
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif op is c.CATEGORY:
            esc, is_neg = _CATEGORY[str(av)]
            hit = hit or re.fullmatch(esc[0] + (esc[1].upper() if is_neg else esc[1]), ch) is not None
    return hit != negate


def _unclass(s: str) -> int:
    if s.startswith("\\x") or s.startswith("\\u") or s.startswith("\\U"):
        return int(s[2:], 16)
    if s.startswith("\\"):
        return ord(s[1])
    return ord(s)


def _subtract_range(p: str) -> str:
    """A class item (char or a-b) minus U+0000-U+001F, '"', '\\'."""
    m = re.fullmatch(r"(\\x..|\\u....|\\U........|\\.|.)(?:-(\\x..|\\u....|\\U........|\\.|.))?", p, re.S)
    lo = _unclass(m.group(1))
    hi = _unclass(m.group(2)) if m.group(2) else lo
    out = []
    excluded = {0x22, 0x5C} | set(range(0x20))
    start = None
    for cp in list(range(lo, min(hi, 0x7F) + 1)) + [None]:
        if cp is not None and cp not in excluded:
            if start is None:
                start = cp
            prev = cp
            continue
        if start is not None:
            out.append(_class_char(chr(start)) + ("-" + _class_char(chr(prev)) if prev > start else ""))
            start = None
    if hi > 0x7F:
        a = max(lo, 0x80)
        out.append(_class_char(chr(a)) + ("-" + _class_char(chr(hi)) if hi > a else ""))
    return "".join(out)


# ------------------------------------------------------------------ numbers
_FRAC = r"(?:\.[0-9]+)?"
_FRAC_ZERO = r"(?:\.0+)?"
_FRAC_NONZERO = r"\.[0-9]*[1-9][0-9]*"
NUMBER_RE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
INTEGER_RE = r"-?(?:0|[1-9][0-9]*)"


def _magnitude_regex(a: int, a_open: bool, b: int | None, b_open: bool, integer: bool) -> str | None:
    """Unsigned decimal I(.F)? (no exponent) with a <= / < value <= / < b; a, b integers >= 0."""
    if integer:
        lo = a + 1 if a_open else a
        hi = None if b is None else (b - 1 if b_open else b)
        return integer_range_regex(lo, hi)
    alts = []
    # integer part strictly between a and b: any fraction
    inner_hi = None if b is None else b - 1
    r = integer_range_regex(a + 1, inner_hi)
    if r is not None:
        alts.append(r + _FRAC)
    if b is not None and a == b:
        if not a_open and not b_open:
            alts.append(_re_lit(str(a)) + _FRAC_ZERO)
    else:
        alts.append(_re_lit(str(a)) + (_FRAC_NONZERO if a_open else _FRAC))
        if b is not None and not b_open:
            alts.append(_re_lit(str(b)) + _FRAC_ZERO)
    return "(?:" + "|".join(alts) + ")" if alts else None


def _multiple_of_regex(m, integer: bool) -> str | None:
    """Regex of the numbers that are multiples of ``m``, in the spellings numbers under ``integer`` or bounds get
    (no exponent; integers without fraction): ``m`` = 1, 2 or 5 times 10^j (integers, their last digits) or 10^-d (at
    most d fraction digits). None for other values."""
    if float(m) == int(m):
        k = int(m)
        j = 0
        while k % 10 == 0:
            k //= 10
            j += 1
        if k not in (1, 2, 5):
            return None
        if k == 1:      # 10^j: 0 or digits ending in j zeros
            return INTEGER_RE if j == 0 else "-?(?:0|[1-9][0-9]*" + "0" * j + ")"
        # 2 or 5 times 10^j: 0, a one-digit multiple, or digits whose last before the j zeros is one
        one, last = {2: ("[2468]", "[02468]"), 5: ("5", "[05]")}[k]
        return "-?(?:0|" + one + "0" * j + "|[1-9][0-9]*" + last + "0" * j + ")"
    d = round(-math.log10(m))
    if d < 1 or d > 15 or abs(m - 10.0 ** -d) > 1e-12 * 10.0 ** -d:
        return None
    if integer:
        return INTEGER_RE
    return r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,%d})?" % d


def _bounded_number_regex(lo, lo_open, hi, hi_open, integer: bool) -> str | None:
    """Regex for JSON numbers (no exponent) in the interval; bounds are ints or None."""
    alts = []
    # nonnegative values: magnitude in [max(lo,0), hi]
    if hi is None or hi > 0 or (hi == 0 and not hi_open):
        if lo is None or lo < 0:
            a, a_open = 0, False
        else:
            a, a_open = lo, lo_open
        r = _magnitude_regex(a, a_open, hi, hi_open, integer)
        if r is not None:
            alts.append(r)
    # negative values -m, m > 0: m in [-hi, -lo]
    if lo is None or lo < 0:
        if hi is None or hi >= 0:
            a, a_open = 0, True
        else:
            a, a_open = -hi, hi_open
        b, b_open = (None, False) if lo is None else (-lo, lo_open)
        r = _magnitude_regex(a, a_open, b, b_open, integer)
        if r is not None:
            alts.append("-" + r)
    return "(?:" + "|".join(alts) + ")" if alts else None


def _number_literal_regex(v) -> str:
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e16):
        i = int(v)
        return _re_lit(str(i)) + _FRAC_ZERO
    s = repr(float(v))
    if "e" in s or "inf" in s or "nan" in s:
        return _re_lit(s)
    return _re_lit(s) + "0*"


# ------------------------------------------------------------------ compiler
def _canon_value(v):
    """A JSON value with integral floats as ints (JSON Schema compares numbers by value)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_canon_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon_value(x) for k, x in v.items()}
    return v


def _vkey(v) -> str:
    return json.dumps(_canon_value(v), sort_keys=True)


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if v.is_integer() else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    raise TypeError(type(v))


def _type_matches(value, t: str) -> bool:
    jt = _json_type(value)
    return jt == t or (t == "number" and jt == "integer")


class _Compiler:
    def __init__(self, root, whitespace: str, strict_key_order: bool):
        if whitespace not in ("flexible", "compact"):
            raise ValueError("whitespace must be 'flexible' or 'compact'")
        self.root = root
        self.whitespace = whitespace
        self.strict = strict_key_order
        self.rules: dict[str, list[str]] = {}
        self.order: list[str] = []
        self.terminals: dict = {}             # regex (or (regex, also)) -> name
        self.term_order: list[tuple[str, str]] = []
        self.ref_rules: dict[str, str] = {}
        self.counter = 0

    # -- helpers
    def fresh(self, hint: str) -> str:
        self.counter += 1
        name = re.sub(r"[^a-z0-9_]", "_", hint.lower())[:24].strip("_") or "r"
        return f"{name}_{self.counter}"

    def rule(self, name: str, alts: list[str]) -> str:
        if name not in self.rules:
            self.order.append(name)
        self.rules[name] = alts
        return name

    def term(self, regex: str, hint: str = "T", also: str | None = None, minus: str | None = None,
             lark: str | None = None) -> str:
        """A terminal of the lexemes matching ``regex``, and ``also`` too, and ``minus`` not (see ``lexer.Terminal``);
        ``lark``: its one regex for lark text (default :func:`_lark_form`: lookaheads after the opening quote)."""
        key = regex if also is None and minus is None else (regex, also, minus)
        if key not in self.terminals:
            name = f"{hint.upper()}_{len(self.terminals)}"
            self.terminals[key] = name
            if lark is None:
                lark = _lark_form(regex, also, minus)
            self.term_order.append((name, regex, also, minus, lark))
        return self.terminals[key]

    def error(self, msg: str, keyword: str, pointer: str):
        raise UnsupportedSchemaError(msg, keyword, pointer)

    # -- generic values
    def any_value(self) -> str:
        if "json_value" not in self.rules:
            s = self.term(STRING_RE, "STRING")
            self.rule("json_value", self.value_alts(s))
            self.rule("json_object", ['"{" "}"', '"{" json_member json_members "}"'])
            self.rule("json_members", ["", 'json_members "," json_member'])
            self.rule("json_member", [f'{s} ":" json_value'])
            self.rule("json_array", ['"[" "]"', '"[" json_value json_values "]"'])
            self.rule("json_values", ["", 'json_values "," json_value'])
        return "json_value"

    def value_alts(self, string_sym: str) -> list[str]:
        """The alternatives of any JSON value, strings being ``string_sym`` (nested values: any)."""
        return ["json_object", "json_array", string_sym, self.term(NUMBER_RE, "NUMBER"), '"true"', '"false"', '"null"']

    # -- entry
    def compile(self, schema, ptr: str) -> str:
        if schema is True:
            return self.any_value()
        if schema is False:
            self.error("the false schema admits no value", "false", ptr or "/")
        if not isinstance(schema, dict):
            self.error(f"a schema must be an object or a boolean, got {type(schema).__name__}", "", ptr)
        if "not" in schema:
            return self.negation(schema, ptr)
        for kw in schema:
            if kw in UNSUPPORTED:
                self.error(f"unsupported keyword {kw!r}", kw, f"{ptr}/{_esc(kw)}")
        schema = _assertions(schema)
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if rest:
                return self.compile({"allOf": [{"$ref": schema["$ref"]}, rest]}, ptr)
            return self.ref(schema["$ref"], f"{ptr}/$ref")
        if "allOf" in schema:
            return self.compile(self.merge_all_of(schema, ptr), ptr)
        if "anyOf" in schema or "oneOf" in schema:
            return self.combine(schema, ptr)
        if "const" in schema or "enum" in schema:
            return self.enumeration(schema, ptr)
        return self.typed(schema, ptr)

    def ref(self, ref: str, ptr: str) -> str:
        if ref in self.ref_rules:
            return self.ref_rules[ref]
        target = self.resolve(ref, ptr)
        name = self.fresh("ref_" + ref.rsplit("/", 1)[-1])
        self.ref_rules[ref] = name
        self.rule(name, ["json_value"])  # placeholder, replaced below (recursion-safe)
        body = self.compile(target, ref[1:] if ref.startswith("#") else ref)
        self.rule(name, [body])
        return name

    def resolve(self, ref: str, ptr: str):
        if not isinstance(ref, str) or not ref.startswith("#"):
            self.error(f"only local references ('#...') are supported, got {ref!r}", "$ref", ptr)
        node = self.root
        if ref in ("#", "#/"):
            return node
        if not ref.startswith("#/"):
            self.error(f"anchors are not supported: {ref!r}", "$ref", ptr)
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                self.error(f"unresolvable reference {ref!r}", "$ref", ptr)
        return node

    def deref(self, schema, ptr):
        seen = 0
        while isinstance(schema, dict) and set(_assertions(schema)) == {"$ref"}:
            schema = self.resolve(schema["$ref"], ptr)
            seen += 1
            if seen > 64:
                self.error("reference cycle without content", "$ref", ptr)
        return _assertions(schema) if isinstance(schema, dict) else schema

    # -- combinators
    def combine(self, schema, ptr):
        kw = "anyOf" if "anyOf" in schema else "oneOf"
        if "anyOf" in schema and "oneOf" in schema:
            self.error("anyOf together with oneOf is not supported", "oneOf", f"{ptr}/oneOf")
        branches = schema[kw]
        if not isinstance(branches, list) or not branches:
            self.error(f"{kw} must be a non-empty array", kw, f"{ptr}/{kw}")
        rest = {k: v for k, v in schema.items() if k != kw and k not in ANNOTATIONS}
        if kw == "oneOf" and len(branches) == 2 and any(b is True or b == {} for b in branches) and "not" not in rest:
            # exactly one of X and everything: the values X does not admit
            other = branches[1] if branches[0] is True or branches[0] == {} else branches[0]
            return self.compile({**rest, "not": other}, ptr)
        if rest:  # distribute the sibling keywords into each branch (sound: A and (B or C))
            branches = [{"allOf": [rest, b]} for b in branches]
        if kw == "oneOf":
            self.check_disjoint(branches, f"{ptr}/oneOf")
        syms = []
        for i, b in enumerate(branches):
            if b is False:
                continue
            syms.append(self.compile(b, f"{ptr}/{kw}/{i}"))
        if not syms:
            self.error("every branch is false", kw, f"{ptr}/{kw}")
        return self.rule(self.fresh(kw), syms)

    def summary(self, schema, ptr, depth=0):
        """(types, literal values or None, {required property: set of values or None})."""
        schema = self.deref(schema, ptr)
        all_types = {"null", "boolean", "object", "array", "string", "number"}
        if schema is True or depth > 8:
            return all_types, None, {}
        if schema is False:
            return set(), set(), {}
        if not isinstance(schema, dict):
            return all_types, None, {}
        types = set(all_types)
        if "type" in schema:
            t = schema["type"]
            ts = set(t if isinstance(t, list) else [t])
            types = {"number" if x == "integer" else x for x in ts}
        values = None
        if "const" in schema:
            values = {_vkey(schema["const"])}
        if "enum" in schema and isinstance(schema["enum"], list):
            ev = {_vkey(v) for v in schema["enum"]}
            values = ev if values is None else values & ev
        if values is not None:
            types &= {("number" if _json_type(json.loads(v)) == "integer" else _json_type(json.loads(v)))
                      for v in values}
        for sub in ("anyOf", "oneOf"):
            if sub in schema:
                t2 = set()
                for b in schema[sub]:
                    t2 |= self.summary(b, ptr, depth + 1)[0]
                types &= t2
        if "allOf" in schema:
            for b in schema["allOf"]:
                types &= self.summary(b, ptr, depth + 1)[0]
        disc = {}
        if "object" in types:
            props = schema.get("properties", {})
            for r in schema.get("required", []):
                p = self.deref(props.get(r, True), ptr)
                if isinstance(p, dict) and ("const" in p or "enum" in p):
                    _, vals, _ = self.summary(p, ptr, depth + 1)
                    disc[r] = vals
                else:
                    disc[r] = None
        return types, values, disc

    def check_disjoint(self, branches, ptr):
        sums = [self.summary(b, ptr) for b in branches]
        for i in range(len(sums)):
            for j in range(i + 1, len(sums)):
                if not _disjoint(sums[i], sums[j]):
                    self.error(
                        f"oneOf branches {i} and {j} may overlap; oneOf is only supported for "
                        "provably disjoint branches (different types, different const/enum values, "
                        "or a required property with disjoint const/enum values)", "oneOf", ptr)

    def merge_all_of(self, schema, ptr):
        parts = [{k: v for k, v in schema.items() if k != "allOf"}]
        subs = schema["allOf"]
        if not isinstance(subs, list) or not subs:
            self.error("allOf must be a non-empty array", "allOf", f"{ptr}/allOf")
        for i, s in enumerate(subs):
            s = self.deref(s, f"{ptr}/allOf/{i}")
            if s is True:
                continue
            if s is False:
                self.error("allOf with a false branch admits no value", "allOf", f"{ptr}/allOf/{i}")
            if "allOf" in s:
                s = self.merge_all_of(s, f"{ptr}/allOf/{i}")
            parts.append(s)
        # keywords whose meaning depends on sibling keywords of the same schema object
        owners = [i for i, p in enumerate(parts) if p.get("additionalProperties", True) is not True]
        scoped = [i for i, p in enumerate(parts) if "properties" in p or "patternProperties" in p]
        if owners and any(j != owners[0] for j in owners + scoped):
            self.error("allOf: additionalProperties next to properties of another branch cannot be "
                       "merged soundly", "allOf", f"{ptr}/allOf")
        pre = [i for i, p in enumerate(parts) if "prefixItems" in p]
        its = [i for i, p in enumerate(parts) if "items" in p]
        if pre and any(j != pre[0] for j in pre + its):
            self.error("allOf: items/prefixItems of different branches cannot be merged soundly",
                       "allOf", f"{ptr}/allOf")
        merged: dict = {}
        for i, part in enumerate(parts):
            where = f"{ptr}/allOf/{i - 1}" if i else ptr
            for k, v in part.items():
                if k in ANNOTATIONS:
                    continue
                if k not in merged:
                    merged[k] = v
                    continue
                merged[k] = self.merge_kw(k, merged[k], v, where, parts)
        return merged

    def merge_kw(self, k, a, b, where, parts):
        if a == b and k != "properties":
            return a
        if k == "type":
            ta = set(a if isinstance(a, list) else [a])
            tb = set(b if isinstance(b, list) else [b])
            t = (ta & tb) | ({"integer"} if ("integer" in ta and "number" in tb) or
                             ("number" in ta and "integer" in tb) else set())
            if not t:
                self.error("allOf branches have disjoint types", "allOf", where)
            return sorted(t)
        if k == "required":
            return list(dict.fromkeys(list(a) + list(b)))
        if k == "properties":
            if any(p.get("additionalProperties", True) is not True for p in parts if isinstance(p, dict)):
                self.error("allOf merging properties with additionalProperties is not supported",
                           "allOf", where)
            out = dict(a)
            for name, s in b.items():
                out[name] = {"allOf": [out[name], s]} if name in out else s
            return out
        if k in ("minLength", "minItems", "minimum", "exclusiveMinimum"):
            return max(a, b)
        if k in ("maxLength", "maxItems", "maximum", "exclusiveMaximum"):
            return min(a, b)
        if k == "enum":
            vb = {_vkey(x) for x in b}
            return [x for x in a if _vkey(x) in vb]
        if k == "items" and not any("prefixItems" in p for p in parts if isinstance(p, dict)):
            return {"allOf": [a, b]}
        if k in ("anyOf", "oneOf"):
            self.error(f"allOf with several {k} is not supported", "allOf", where)
        self.error(f"allOf: cannot merge two different {k!r} values", "allOf", where)

    # -- enum / const
    def enumeration(self, schema, ptr):
        allowed_types = None
        if "type" in schema:
            t = schema["type"]
            allowed_types = t if isinstance(t, list) else [t]
        extra = [k for k in schema if k not in ANNOTATIONS and k not in ("enum", "const", "type")]
        if extra:
            k = extra[0]
            self.error(f"{k!r} beside enum/const is not supported", k, f"{ptr}/{_esc(k)}")
        if "const" in schema:
            values = [schema["const"]]
            if "enum" in schema:
                values = [v for v in values if _vkey(v) in {_vkey(e) for e in schema["enum"]}]
        else:
            values = schema["enum"]
            if not isinstance(values, list):
                self.error("enum must be an array", "enum", f"{ptr}/enum")
        if allowed_types is not None:
            values = [v for v in values if any(_type_matches(v, t) for t in allowed_types)]
        if not values:
            self.error("enum/const admits no value", "enum" if "enum" in schema else "const", ptr)
        syms = [self.literal(v, ptr) for v in values]
        return self.rule(self.fresh("enum"), syms)

    def literal(self, v, ptr) -> str:
        if v is None:
            return '"null"'
        if v is True:
            return '"true"'
        if v is False:
            return '"false"'
        if isinstance(v, str):
            return self.term(canonical_string_regex(v), "LIT")
        if isinstance(v, (int, float)):
            return self.term(_number_literal_regex(v), "NUM")
        if isinstance(v, list):
            if not v:
                return '"[" "]"'
            return '"[" ' + ' "," '.join(self.literal(x, ptr) for x in v) + ' "]"'
        if isinstance(v, dict):
            if not v:
                return '"{" "}"'
            # any order of the keys (duplicates excluded) through a sub-schema
            sub = {"type": "object", "additionalProperties": False, "required": list(v),
                   "properties": {k: {"const": x} for k, x in v.items()}}
            return self.compile(sub, ptr)
        raise TypeError(type(v))

    # -- typed schemas
    def typed(self, schema, ptr):
        t = schema.get("type")
        if t is None:
            types = ["null", "boolean", "object", "array", "string", "number"]
        else:
            types = t if isinstance(t, list) else [t]
            for x in types:
                if x not in TYPES:
                    self.error(f"unknown type {x!r}", "type", f"{ptr}/type")
            if "number" in types and "integer" in types:
                types = [x for x in types if x != "integer"]
        syms = []
        for x in types:
            if x == "null":
                syms.append('"null"')
            elif x == "boolean":
                syms.extend(['"true"', '"false"'])
            elif x == "string":
                syms.append(self.string(schema, ptr))
            elif x in ("number", "integer"):
                s = self.number(schema, ptr, integer=(x == "integer"))
                if s is not None:
                    syms.append(s)
            elif x == "object":
                syms.append(self.object(schema, ptr))
            elif x == "array":
                s = self.array(schema, ptr)
                if s is not None:
                    syms.append(s)
        if not syms:
            self.error("the schema admits no value", "type", ptr)
        if len(syms) == 1 and not syms[0].startswith('"'):
            return syms[0]
        return self.rule(self.fresh("value"), syms)

    def negation(self, schema, ptr):
        """``not`` where it excludes strings from a string schema: ``{"type": "string", ..., "not": N}`` with N an
        enum/const of strings, a pattern, a format or a length bound (one of them). The string's terminal minus the
        spellings N admits (``lexer.Terminal.minus``): exact, every spelling of an excluded value is excluded. Any
        other ``not`` raises."""
        rest = {k: v for k, v in schema.items() if k != "not"}
        n = schema["not"]
        if not _assertions(rest) and isinstance(n, dict) and set(_assertions(n)) in ({"enum"}, {"const"}):
            # any value but some strings (also what oneOf [X, {}] means)
            vals = n["enum"] if "enum" in n else [n["const"]]
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                self.error("'not' of values other than strings is not supported", "not", f"{ptr}/not")
            s = self.string_term(STRING_RE, "STRING", None, self.excluded(n, False, f"{ptr}/not"), ptr)
            self.any_value()
            return self.rule(self.fresh("notvalue"), self.value_alts(s))
        kws = set(_assertions(rest)) - {"type", "minLength", "maxLength", "pattern", "format"}
        if rest.get("type") != "string" or kws:
            self.error("'not' is supported only inside a string schema (type: string, with no enum, const, "
                       "combinator or $ref beside it), excluding strings", "not", f"{ptr}/not")
        for kw in rest:
            if kw in UNSUPPORTED:
                self.error(f"unsupported keyword {kw!r}", kw, f"{ptr}/{_esc(kw)}")
        return self.string(_assertions(rest), ptr, exclude=schema["not"])

    def excluded(self, n, raw: bool, ptr) -> str | None:
        """Regex of the string tokens (quotes included) whose value schema ``n`` admits, for ``not`` (None: it
        admits no string). ``raw``: the tokens it is subtracted from are written raw (a pattern or format string),
        so a pattern's or format's raw-character regex is exact; on other strings only values and lengths are
        (every spelling of them)."""
        if n is False:
            return None
        if n is True or not isinstance(n, dict):
            self.error("'not' of this schema excludes every value", "not", ptr)
        n = _assertions(n)
        if n.get("type", "string") != "string":
            if n.get("type") in TYPES and set(n) == {"type"}:
                return None         # not of another type: excludes no string
            self.error("'not' with a type other than string beside other keywords is not supported", "not", ptr)
        kws = set(n) - {"type"}
        if not kws:
            self.error("'not' of every string excludes every value", "not", ptr)
        if kws <= {"enum"} or kws <= {"const"}:
            vals = n["enum"] if "enum" in n else [n["const"]]
            strs = sorted({v for v in vals if isinstance(v, str)})
            return _quoted_union([_spellings_regex(v) for v in strs]) if strs else None
        if kws <= {"minLength", "maxLength"}:
            lo, hi = n.get("minLength", 0), n.get("maxLength")
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (lo, hi) if v is not None):
                self.error("minLength/maxLength must be non-negative integers", "not", ptr)
            return '"' + (_RAW_CHAR if raw else _CP_CHAR) + ("{%d,}" % lo if hi is None else "{%d,%d}" % (lo, hi)) + '"'
        if kws == {"pattern"} or kws == {"format"}:
            if "format" in n and n["format"] not in FORMATS:
                if n["format"] in SPEC_FORMATS:
                    self.error(f"unsupported format {n['format']!r}", "not", f"{ptr}/format")
                self.error("'not' of an unknown format (an annotation) excludes every value", "not", ptr)
            if not raw:
                self.error("'not' with a pattern or format is supported on strings that have a pattern or format "
                           "themselves (written raw; on other strings escaped spellings would slip through)", "not",
                           ptr)
            if "format" in n:
                return '"' + FORMATS[n["format"]] + '"'
            try:
                return '"' + _pattern_body(n["pattern"]) + '"'
            except _PatternError as e:
                self.error(f"pattern {n['pattern']!r}: {e}", "not", f"{ptr}/pattern")
        self.error("'not' is supported with one of enum, const, pattern, format or a length bound", "not", ptr)

    def string_term(self, regex, hint, also, exclude, ptr):
        if exclude is None:
            return self.term(regex, hint, also=also)
        if _empty_language(regex, also, exclude):
            self.error("the string admits no value once 'not' is taken out", "not", f"{ptr}/not")
        return self.term(regex, hint + "X", also=also, minus=exclude)

    def string(self, schema, ptr, exclude=None):
        if "format" in schema and schema["format"] not in FORMATS and schema["format"] not in SPEC_FORMATS:
            # a format no JSON Schema draft defines is an annotation: validators check only the formats they know
            schema = {k: v for k, v in schema.items() if k != "format"}
        has_len = "minLength" in schema or "maxLength" in schema
        if "pattern" in schema and "format" in schema:
            self.error("pattern together with format is not supported", "format", f"{ptr}/format")
        rep = None
        if has_len:
            lo = schema.get("minLength", 0)
            hi = schema.get("maxLength")
            for k, v in (("minLength", lo), ("maxLength", hi)):
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                    self.error(f"{k} must be a non-negative integer", k, f"{ptr}/{k}")
            if hi is not None and hi < lo:
                self.error("maxLength < minLength admits no string", "maxLength", f"{ptr}/maxLength")
            rep = "{%d,}" % lo if hi is None else ("{%d}" % lo if lo == hi else "{%d,%d}" % (lo, hi))
        body = None
        if "pattern" in schema:
            kw = "pattern"
            try:
                body = _pattern_body(schema["pattern"])
            except _PatternError as e:
                self.error(f"pattern {schema['pattern']!r}: {e}", "pattern", f"{ptr}/pattern")
        elif "format" in schema:
            kw = "format"
            f = schema["format"]
            if f not in FORMATS:
                self.error(f"unsupported format {f!r}", "format", f"{ptr}/format")
            body = FORMATS[f]
        if exclude is not None:
            exclude = self.excluded(exclude, body is not None, f"{ptr}/not")
        if body is not None:
            if rep is None:
                return self.string_term('"' + body + '"', "PAT" if kw == "pattern" else "FMT", None, exclude, ptr)
            # a pattern/format string is written raw (one character = one code point): its length is that of the
            # raw characters, intersected with the pattern's language
            regex, also = '"' + body + '"', '"' + _RAW_CHAR + rep + '"'
            if self.terminals.get((regex, also, None)) is None and _empty_language(regex, also):
                self.error(f"{kw} admits no string of length {rep}", kw, f"{ptr}/{kw}")
            return self.string_term(regex, "PATLEN", also, exclude, ptr)
        if rep is not None:
            return self.string_term('"' + _CP_CHAR + rep + '"', "STRLEN", None, exclude, ptr)
        return self.string_term(STRING_RE, "STRING", None, exclude, ptr)

    def number(self, schema, ptr, integer):
        keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if "multipleOf" in schema:
            m = schema["multipleOf"]
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0:
                self.error("multipleOf must be a number > 0", "multipleOf", f"{ptr}/multipleOf")
            r = _multiple_of_regex(m, integer)
            if r is None:
                self.error(f"multipleOf {m!r} is not supported (1, 2 or 5 times a power of ten, or 10^-d)",
                           "multipleOf", f"{ptr}/multipleOf")
            if r != INTEGER_RE:
                if any(k in schema for k in keys):
                    self.error(f"multipleOf {m!r} beside bounds is not supported (only multipleOf 1 is)",
                               "multipleOf", f"{ptr}/multipleOf")
                return self.term(r, "MULT")
            integer = True      # multipleOf 1: the integers (written without fraction, as for type integer)
        if not any(k in schema for k in keys):
            return self.term(INTEGER_RE if integer else NUMBER_RE, "INT" if integer else "NUMBER")
        lo = lo_open = hi = hi_open = None
        for k in keys:
            if k not in schema:
                continue
            v = schema[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                self.error(f"{k} must be a finite number", k, f"{ptr}/{k}")
            if integer:
                if k == "minimum":
                    b = math.ceil(v)
                elif k == "exclusiveMinimum":
                    b = math.floor(v) + 1
                elif k == "maximum":
                    b = math.floor(v)
                else:
                    b = math.ceil(v) - 1
                if k in ("minimum", "exclusiveMinimum"):
                    lo = b if lo is None else max(lo, b)
                    lo_open = False
                else:
                    hi = b if hi is None else min(hi, b)
                    hi_open = False
                continue
            if float(v) != int(v) or abs(v) > 1e15:
                self.error(f"{k}: only integral bounds are supported for numbers", k, f"{ptr}/{k}")
            v = int(v)
            if k in ("minimum", "exclusiveMinimum"):
                op = k == "exclusiveMinimum"
                if lo is None or v > lo or (v == lo and op):
                    lo, lo_open = v, op
            else:
                op = k == "exclusiveMaximum"
                if hi is None or v < hi or (v == hi and op):
                    hi, hi_open = v, op
        r = _bounded_number_regex(lo, bool(lo_open), hi, bool(hi_open), integer)
        if r is None:
            return None
        return self.term(r, "INTR" if integer else "NUMR")

    def object(self, schema, ptr):
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            self.error("properties must be an object", "properties", f"{ptr}/properties")
        required = list(schema.get("required", []))
        addl = schema.get("additionalProperties", True)
        pats = schema.get("patternProperties", {})
        for r in required:
            if r not in props:
                if addl is False and not any(re.search(p, r) for p in pats):
                    self.error(f"required property {r!r} is not allowed by additionalProperties: false",
                               "required", f"{ptr}/required")
                # required but undeclared: declare it with the additionalProperties schema
                props = dict(props)
                props[r] = addl if addl is not False else True
                for p, ps in pats.items():
                    if re.search(p, r):
                        props[r] = ps
        # properties whose schema is false may not appear
        names, forbidden = [], set()
        for k, s in props.items():
            if _is_false_schema(s):   # the key may not appear: kept out of the additional keys below
                if k in required:
                    self.error(f"required property {k!r} has the false schema", "required", f"{ptr}/required")
                if any(re.search(p, k) for p in pats):
                    self.error(f"property {k!r} is forbidden (false) but matches a patternProperties pattern",
                               "properties", f"{ptr}/properties/{_esc(k)}")
                forbidden.add(k)
                continue
            names.append(k)
        # additional key-value pairs
        addl_sym = None
        if pats:
            schemas = list(pats.values())
            if any(json.dumps(s, sort_keys=True) != json.dumps(schemas[0], sort_keys=True) for s in schemas):
                self.error("several patternProperties with different schemas are not supported",
                           "patternProperties", f"{ptr}/patternProperties")
            for k in names:
                for p in pats:
                    if re.search(p, k):
                        self.error(f"declared property {k!r} also matches pattern {p!r}",
                                   "patternProperties", f"{ptr}/patternProperties/{_esc(p)}")
            key_alts = []
            for p in pats:
                try:
                    key_alts.append('"' + _pattern_body(p) + '"')
                except _PatternError as e:
                    self.error(f"pattern {p!r}: {e}", "patternProperties",
                               f"{ptr}/patternProperties/{_esc(p)}")
            key = self.term("|".join(key_alts) if len(key_alts) == 1 else
                            "(?:" + ")|(?:".join(key_alts) + ")", "PKEY")
            p0 = next(iter(pats))
            val = self.compile(schemas[0], f"{ptr}/patternProperties/{_esc(p0)}")
            addl_sym = self.rule(self.fresh("pmember"), [f'{key} ":" {val}'])
            if addl is not False:
                # the other keys: canonical strings but the declared ones and every spelling-canonical key that a
                # pattern matches (so a key with an escape that matches a pattern is never an additional key)
                minus = _quoted_union([canonical_string_regex(k) for k in sorted(set(names) | forbidden)] +
                                      ['"' + _pattern_body(p, canonical=True) + '"' for p in pats])
                akey = self.term(_CANON_STRING_RE, "AKEY", minus=minus)
                aval = self.compile(addl, f"{ptr}/additionalProperties")
                amember = self.rule(self.fresh("amember"), [f'{akey} ":" {aval}'])
                addl_sym = self.rule(self.fresh("xmember"), [addl_sym, amember])
        elif addl is not False:
            if names or forbidden:
                # canonical keys but the declared ones: built as a difference (one regex of the complement is large)
                keys = sorted(set(names) | forbidden)
                key = self.term(_CANON_STRING_RE, "AKEY", minus="(?:" + "|".join(map(canonical_string_regex, keys)) + ")",
                                lark='"' + _not_in_regex(set(keys)) + '"')
            else:
                key = self.term(STRING_RE, "STRING")
            val = self.compile(addl, f"{ptr}/additionalProperties")
            addl_sym = self.rule(self.fresh("amember"), [f'{key} ":" {val}'])
        members = []
        for k in names:
            key = self.term(canonical_string_regex(k), "KEY")
            val = self.compile(props[k], f"{ptr}/properties/{_esc(k)}")
            members.append(self.rule(self.fresh("m_" + k), [f'{key} ":" {val}']))
        req = [k in required for k in names]
        deps = self.dependencies(schema, names, forbidden, ptr)
        if self.strict:
            if deps is not None:
                self.error("dependencies with strict_key_order are not supported", "dependencies",
                           f"{ptr}/dependencies")
            return self.object_ordered(members, req, addl_sym)
        if len(members) > MAX_ANY_ORDER_PROPERTIES:
            self.error(
                f"{len(members)} properties in any order would need 2^{len(members)} grammar states; "
                f"at most {MAX_ANY_ORDER_PROPERTIES} are supported -- pass strict_key_order=True "
                "to require the declared order", "properties", f"{ptr}/properties")
        return self.object_any_order(members, req, addl_sym, deps)

    def extra_members(self, base, addl):
        """The rule of any number of additional members, each after a comma (left-recursive), or "" without them."""
        if not addl:
            return ""
        return self.rule(f"{base}_x", ["", f'{base}_x "," {addl}'])

    def object_ordered(self, members, req, addl):
        base = self.fresh("obj")
        k = len(members)
        # tail_i: members i.. after at least one member was written (each starts with ","); additional members
        # first, as one left-recursive star (see MAX_ARRAY_STATES)
        x = self.extra_members(base, addl)
        for i in range(k, -1, -1):
            alts = []
            if i == k:
                alts.append(x)
            else:
                alts.append(f'{x} "," {members[i]} {base}_t{i + 1}'.strip())
                if not req[i]:
                    alts.append(f"{base}_t{i + 1}")
            self.rule(f"{base}_t{i}", alts)
        # head_i: members i.. with nothing written yet
        for i in range(k, -1, -1):
            alts = []
            if i == k:
                alts.append("")
            else:
                alts.append(f"{members[i]} {base}_t{i + 1}")
                if not req[i]:
                    alts.append(f"{base}_h{i + 1}")
            if addl:
                alts.append(f"{addl} {base}_t{i}")
            self.rule(f"{base}_h{i}", alts)
        return self.rule(base, [f'"{{" {base}_h0 "}}"'])

    def dependencies(self, schema, names, forbidden, ptr):
        """Property dependencies among declared properties: (needs, excludes) bit masks per property, or None.
        ``dependentRequired`` and ``dependencies`` with a list, or with a schema of only ``required`` and ``properties``
        whose schemas are ``false`` ("if a is present, b is too / is not")."""
        raw = {}
        for kw in ("dependentRequired", "dependencies"):
            d = schema.get(kw)
            if d is None:
                continue
            if not isinstance(d, dict):
                self.error(f"{kw} must be an object", kw, f"{ptr}/{kw}")
            for a, v in d.items():
                raw.setdefault(a, []).append((kw, v))
        if not raw:
            return None
        index = {k: i for i, k in enumerate(names)}
        needs, excludes = [0] * len(names), [0] * len(names)
        for a, entries in raw.items():
            for kw, v in entries:
                where = f"{ptr}/{kw}/{_esc(a)}"
                if isinstance(v, dict):
                    v = _assertions(v)
                    if set(v) - {"required", "properties"} or not all(
                            _is_false_schema(x) for x in v.get("properties", {}).values()):
                        self.error("dependencies with a schema are supported only as required properties and "
                                   "properties that may not appear (false)", kw, where)
                    req, excl = list(v.get("required", [])), list(v.get("properties", {}))
                elif isinstance(v, list):
                    req, excl = v, []
                else:
                    self.error(f"{kw} values must be lists or schemas", kw, where)
                if a in forbidden:
                    continue            # a cannot appear: its dependency never applies
                for b in req + excl:
                    if b not in index and b not in forbidden:
                        self.error(f"dependency on {b!r}, which is not a declared property, is not supported", kw,
                                   where)
                if a not in index:
                    self.error(f"dependency of {a!r}, which is not a declared property, is not supported", kw, where)
                if any(b in forbidden for b in req):
                    excludes[index[a]] |= 1 << index[a]    # a needs a key that may not appear: a may not either
                for b in req:
                    if b in index:
                        needs[index[a]] |= 1 << index[b]
                for b in excl:
                    if b in index:
                        excludes[index[a]] |= 1 << index[b]
        return needs, excludes

    def object_any_order(self, members, req, addl, deps=None):
        base = self.fresh("obj")
        k = len(members)
        req_mask = sum(1 << i for i in range(k) if req[i])
        needs, excludes = deps if deps is not None else ([0] * k, [0] * k)

        def ok(s):      # no present member excludes a present one (itself included: it may not appear)
            return all(not (s >> i & 1) or not excludes[i] & s for i in range(k))

        def done(s):    # required and every present member's needs there
            return s & req_mask == req_mask and all(not (s >> i & 1) or needs[i] & s == needs[i] for i in range(k))

        # tail_S: remaining members after at least one was written; S = used declared members; additional members
        # first, as one left-recursive star (see MAX_ARRAY_STATES)
        x = self.extra_members(base, addl)
        for s in range(1 << k):
            alts = []
            if done(s):
                alts.append(x)
            for i in range(k):
                if not s >> i & 1 and ok(s | 1 << i):
                    alts.append(f'{x} "," {members[i]} {base}_t{s | 1 << i}'.strip())
            self.rule(f"{base}_t{s}", alts)
        alts = []
        if req_mask == 0:
            alts.append('"{" "}"')
        for i in range(k):
            if ok(1 << i):
                alts.append(f'"{{" {members[i]} {base}_t{1 << i} "}}"')
        if addl:
            alts.append(f'"{{" {addl} {base}_t0 "}}"')
        return self.rule(base, alts)

    def array(self, schema, ptr):
        if schema.get("uniqueItems", False) is not False:
            self.error("uniqueItems: true is not supported", "uniqueItems", f"{ptr}/uniqueItems")
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", True)
        if isinstance(items, list):
            self.error("array-form items (draft 4-7 tuples) is not supported; use prefixItems",
                       "items", f"{ptr}/items")
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems")
        if items is False:
            hi = len(prefix) if hi is None else min(hi, len(prefix))
        # positions whose schema is false cap the length
        for i, p in enumerate(prefix):
            if p is False:
                hi = i if hi is None else min(hi, i)
                break
        if hi is not None and hi < lo:
            return None
        syms = [self.compile(p, f"{ptr}/prefixItems/{i}") for i, p in enumerate(prefix)
                if hi is None or i < hi]
        item_sym = None
        if items is not False and (hi is None or hi > len(prefix)):
            item_sym = self.compile(items, f"{ptr}/items")

        def elem(j):
            return syms[j] if j < len(syms) else item_sym

        last = max(len(syms), lo)  # from here on, the tail is uniform (unless hi bounds it)
        if hi is not None:
            last = hi
        if last > MAX_ARRAY_STATES:
            self.error(f"array bounds need {last} grammar states (max {MAX_ARRAY_STATES})",
                       "maxItems" if hi is not None else "minItems", ptr)
        base = self.fresh("arr")
        # tail_j: after j >= 1 elements were written
        for j in range(last, 0, -1):
            alts = []
            if j >= lo:
                alts.append("")
            if hi is None or j < hi:
                if j < last:
                    alts.append(f'"," {elem(j)} {base}_t{j + 1}')
                else:  # hi is None: uniform star (left-recursive, see MAX_ARRAY_STATES)
                    alts.append(f'{base}_t{j} "," {item_sym}')
            self.rule(f"{base}_t{j}", alts)
        alts = []
        if lo == 0:
            alts.append('"[" "]"')
        if hi is None or hi >= 1:
            if last == 0:  # lo == 0, no prefix, unbounded: uniform
                self.rule(f"{base}_t1", ["", f'{base}_t1 "," {item_sym}'])
            alts.append(f'"[" {elem(0)} {base}_t1 "]"')
        return self.rule(base, alts)

    # -- output
    def parts(self, start_sym: str):
        """``(terminals, rules)`` for :func:`~memgram.grammar.cfg.cfg_from_parts`: what lark's loader makes of
        :meth:`text` (the same terminals, names and rules), without parsing the text. An alternative is a
        space-separated sequence of rule names, terminal names and double-quoted literals without spaces; only the
        rules reachable from ``start`` and the terminals they use (and the ignored whitespace) are kept."""
        from .lexer import Terminal

        named = {name for name, *_ in self.term_order}
        alts = {name: [alt.split() for alt in self.rules[name]] for name in self.order}
        alts["start"] = [[start_sym]]
        reach, work = {"start"}, ["start"]
        while work:
            for alt in alts[work.pop()]:
                for tok in alt:
                    if tok[0] != '"' and tok not in named and tok not in reach:
                        reach.add(tok)
                        work.append(tok)
        rules, literals, used = [], {}, set()
        for name in ["start"] + self.order:
            if name not in reach:
                continue
            for alt in alts[name]:
                syms = tuple(literals.setdefault(tok[1:-1], _LITERAL_NAMES[tok[1:-1]]) if tok[0] == '"' else tok
                             for tok in alt)
                used.update(syms)
                rules.append((name, syms))
        terminals = [Terminal(name, regex, is_literal=False, also=also, minus=minus)
                     for name, regex, also, minus, _ in self.term_order if name in used]
        terminals += [Terminal(name, re.escape(lit), is_literal=True) for lit, name in literals.items()]
        if self.whitespace == "flexible":
            terminals.append(Terminal("WS", _WS_RE, is_literal=False, ignored=True))
        return terminals, rules

    def text(self, start_sym: str) -> str:
        lines = ["// generated by memgram.grammar.json_schema", f"start: {start_sym}", ""]
        for name in self.order:
            alts = self.rules[name]
            lines.append(f"{name}: " + "\n    | ".join(a if a else "" for a in alts))
        lines.append("")
        for name, _, _, _, lark in self.term_order:
            lines.append(f"{name}: /{lark}/")
        if self.whitespace == "flexible":
            lines.append(f"WS: /{_WS_RE}/")
            lines.append("%ignore WS")
        return "\n".join(lines) + "\n"


def _empty_language(regex: str, also: str | None = None, minus: str | None = None) -> bool:
    from .regex import regexes_to_dfa

    return regexes_to_dfa(regex, also, minus).is_empty()


def _lark_form(regex: str, also: str | None = None, minus: str | None = None) -> str:
    """One Python regex for lark text of a quoted-string terminal with ``also`` and ``minus`` (both quoted-string
    regexes): lookaheads after the opening quote, ``"(?=ALSO")(?!MINUS")REGEX"``. Exact because none lets a raw
    ``"`` into the content: the lookaheads and the pattern end at the same closing quote."""
    if also is None and minus is None:
        return regex
    assert regex[0] == regex[-1] == '"' and all(x[0] == '"' for x in (also, minus) if x is not None)
    return ('"' + ("" if also is None else "(?=" + also[1:] + ")") + ("" if minus is None else "(?!" + minus[1:] + ")")
            + regex[1:])


def _quoted_union(regexes: list[str]) -> str:
    """One quoted-string regex for the union of quoted-string regexes (the opening quote factored out, so that
    :func:`_lark_form` can put it in a lookahead)."""
    return regexes[0] if len(regexes) == 1 else '"(?:' + "|".join(r[1:] for r in regexes) + ")"


def _spellings_regex(value: str) -> str:
    """Regex of every JSON spelling of the string ``value`` (quotes included): each character raw where JSON allows,
    as its short escape, or as ``\\u`` escapes (hex digits in either case; a surrogate pair above U+FFFF)."""
    def hexes(cp):
        return "\\\\u" + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in "%04x" % cp)

    out = []
    for ch in value:
        cp = ord(ch)
        alts = []
        if ch not in '"\\' and cp >= 0x20:
            alts.append(_re_lit(ch))
        if ch in _SHORT:
            alts.append(_re_lit(_SHORT[ch]))
        if ch == "/":
            alts.append(_re_lit("\\/"))
        if cp <= 0xFFFF:
            alts.append(hexes(cp))
        else:
            v = cp - 0x10000
            alts.append(hexes(0xD800 + (v >> 10)) + hexes(0xDC00 + (v & 0x3FF)))
        out.append("(?:" + "|".join(alts) + ")")
    return '"' + "".join(out) + '"'


def _is_false_schema(s) -> bool:
    """``false``, or a schema that admits nothing as plainly: ``{"not": {}}`` / ``{"not": true}``."""
    if s is False:
        return True
    return isinstance(s, dict) and set(_assertions(s)) == {"not"} and (s["not"] is True or s["not"] == {})


def _disjoint(a, b) -> bool:
    ta, va, da = a
    tb, vb, db = b
    if not (ta & tb):
        return True
    if va is not None and vb is not None and not (va & vb):
        return True
    if "object" in ta and "object" in tb and ta & tb == {"object"}:
        for k in set(da) & set(db):
            if da[k] is not None and db[k] is not None and not (da[k] & db[k]):
                return True
    return False


def _esc(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def schema_to_lark(schema, *, whitespace: str = "flexible", strict_key_order: bool = False) -> tuple[str, str]:
    """Translate a JSON Schema (dict or bool) into (lark grammar text, start rule name)."""
    c = _Compiler(schema, whitespace, strict_key_order)
    root = c.compile(schema, "")
    return c.text(root), "start"


def schema_to_cfg(schema, *, whitespace: str = "flexible", strict_key_order: bool = False):
    """The :class:`~memgram.grammar.cfg.CFG` of ``schema_to_lark``'s text, built directly: the same terminals and
    rules as lark's loader gives for that text (tests/grammar/test_json_schema.py compares them), without parsing it,
    which took ~40 % of a schema's compile (``Grammar.from_json_schema`` uses this)."""
    from .cfg import cfg_from_parts

    c = _Compiler(schema, whitespace, strict_key_order)
    root = c.compile(schema, "")
    terminals, rules = c.parts(root)
    return cfg_from_parts(terminals, rules, "start")

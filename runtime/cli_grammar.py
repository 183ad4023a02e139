"""CLI subcommands for constrained generation: ``memgram json`` and ``memgram infill``.

    memgram json --schema person.json "Ada Lovelace, born 1815"       # prints the validated JSON
    memgram infill --grammar cpp prog_with_holes.cpp                    # prints the filled program

Holes in the ``infill`` input file are written ``{{HOLE}}`` (any length), ``{{HOLE:N}}`` (at most N
bytes), or ``⟨…⟩`` (U+27E8 … U+27E9 with anything or nothing inside: any length).
``--grammar`` is a builtin name (cpp, json) or a path to a Lark file (start rule ``start``).
"""
from __future__ import annotations

import json
import re
import sys
import time

HOLE_RE = re.compile(r"\{\{HOLE(?::(\d+))?\}\}|\u27e8[^\u27e9]*\u27e9")

__all__ = ["add_commands", "parse_holes"]


def parse_holes(text: str) -> list:
    """Split text with hole markers into pieces (str, HOLE, Hole(max_bytes=N))."""
    from ..grammar import HOLE, Hole

    out, pos = [], 0
    for m in HOLE_RE.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(Hole(int(m.group(1))) if m.group(1) is not None else HOLE)
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def _grammar(name: str):
    from pathlib import Path

    from ..grammar import Grammar

    if Path(name).is_file():
        return Grammar.from_lark(Path(name).read_text("utf-8"))
    return Grammar.builtin(name)


def cmd_json(args) -> int:
    import memgram

    from .constrained import generate_json

    schema = json.loads(open(args.schema, encoding="utf-8").read())
    model, tok = memgram.load_default_model(verbose=not args.quiet)
    t0 = time.time()
    obj = generate_json(model, tok, args.prompt, schema, max_new_tokens=args.max_new_tokens,
                        whitespace=args.whitespace)
    print(json.dumps(obj, indent=None if args.compact else 2, ensure_ascii=False))
    if not args.quiet:
        print(f"(valid against {args.schema}; {time.time() - t0:.1f} s)", file=sys.stderr)
    return 0


def cmd_infill(args) -> int:
    import memgram

    from .constrained import infill

    text = open(args.file, encoding="utf-8").read()
    pieces = parse_holes(text)
    n_holes = sum(1 for p in pieces if not isinstance(p, str))
    if not n_holes:
        print("no holes found: write {{HOLE}}, {{HOLE:N}} or \u27e8\u2026\u27e9 in the file", file=sys.stderr)
        return 2
    g = _grammar(args.grammar)
    model, tok = memgram.load_default_model(verbose=not args.quiet)
    t0 = time.time()
    out, fills = infill(model, tok, pieces, g, max_new_tokens=args.max_new_tokens, return_fills=True)
    print(out, end="" if out.endswith("\n") else "\n")
    if not args.quiet:
        for i, f in enumerate(fills):
            print(f"hole {i}: {f!r}", file=sys.stderr)
        print(f"({n_holes} hole(s), accepted by the grammar; {time.time() - t0:.1f} s)", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    j = sub.add_parser("json", help="generate JSON that satisfies a JSON Schema (embedded model)")
    j.add_argument("prompt")
    j.add_argument("--schema", required=True, help="JSON Schema file")
    j.add_argument("--max-new-tokens", type=int, default=256)
    j.add_argument("--whitespace", default="flexible", choices=("flexible", "compact"))
    j.add_argument("--compact", action="store_true", help="print on one line")
    j.add_argument("--quiet", action="store_true")
    j.set_defaults(fn=cmd_json)
    f = sub.add_parser("infill", help="fill holes ({{HOLE}}, {{HOLE:N}}, \u27e8\u2026\u27e9) under a grammar")
    f.add_argument("file")
    f.add_argument("--grammar", default="cpp", help="builtin name (cpp, json) or a .lark file")
    f.add_argument("--max-new-tokens", type=int, default=48, help="soft limit per hole")
    f.add_argument("--quiet", action="store_true")
    f.set_defaults(fn=cmd_infill)

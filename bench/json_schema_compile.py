"""JSON Schema compile latency: schema -> Lark text (json_schema.py) and the full Grammar compile.

    python bench/json_schema_compile.py [--n 300] [--seed 0] [--out bench/out/json_schema_compile.json]

Generates ``n`` random schemas of realistic shapes (objects with 1-6 properties in any order,
nested objects and arrays, enums, integer/number ranges, string lengths, patterns, formats,
anyOf/oneOf with discriminators, $defs/$ref recursion), then times, per schema:
``schema_to_lark`` (text generation) and ``Grammar.from_json_schema`` (the engine's full
compile: the CFG built directly by ``schema_to_cfg``, normalisation, lexer automaton).  Prints p50/p90/p99 and writes JSON.
Goal from issue 3: full compile p50 <= 50 ms.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from memgram.grammar.json_schema import schema_to_lark

FORMATS = ["date", "time", "date-time", "email", "uuid", "ipv4", "uri"]
WORDS = ["id", "name", "email", "age", "tags", "score", "items", "kind", "created", "owner",
         "price", "count", "active", "meta", "url", "notes"]


def scalar(rng: random.Random, depth: int) -> dict:
    r = rng.random()
    if r < 0.2:
        return {"type": "string"}
    if r < 0.3:
        return {"type": "string", "maxLength": rng.randint(1, 40)}
    if r < 0.4:
        return {"type": "string", "format": rng.choice(FORMATS)}
    if r < 0.45:
        return {"type": "string", "pattern": rng.choice(["^[a-z]+$", "[0-9]{3}", "^[A-Z]{2}-[0-9]{4}$"])}
    if r < 0.55:
        return {"type": "integer", "minimum": rng.randint(-100, 10), "maximum": rng.randint(11, 100000)}
    if r < 0.6:
        return {"type": "integer"}
    if r < 0.7:
        return {"type": "number", "minimum": 0}
    if r < 0.8:
        return {"enum": rng.sample(["red", "green", "blue", "cyan", "black", 1, 2, None], rng.randint(2, 5))}
    if r < 0.85:
        return {"type": ["string", "null"]}
    return {"type": "boolean"}


def schema(rng: random.Random, depth: int = 0) -> dict:
    r = rng.random()
    if depth >= 2 or r < 0.35:
        return scalar(rng, depth)
    if r < 0.55:
        arr = {"type": "array", "items": schema(rng, depth + 1)}
        if rng.random() < 0.4:
            arr["maxItems"] = rng.choice([3, 5, 10])
        return arr
    if r < 0.62 and depth == 0:
        return {"oneOf": [
            {"type": "object", "properties": {"kind": {"const": k}, "v": schema(rng, depth + 1)},
             "required": ["kind"], "additionalProperties": False} for k in ("a", "b", "c")]}
    if r < 0.66 and depth == 0:
        return {"$defs": {"node": {"type": "object", "properties": {
            "value": scalar(rng, depth), "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["value"]}}, "$ref": "#/$defs/node"}
    k = rng.randint(1, 6)
    names = rng.sample(WORDS, k)
    props = {n: schema(rng, depth + 1) for n in names}
    out = {"type": "object", "properties": props, "required": rng.sample(names, rng.randint(0, k))}
    if rng.random() < 0.5:
        out["additionalProperties"] = False
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/out/json_schema_compile.json")
    args = ap.parse_args()
    from memgram.grammar.api import Grammar

    rng = random.Random(args.seed)
    schemas = [schema(rng) for _ in range(args.n)]
    Grammar.from_json_schema({"type": "integer"})  # warm-up (imports, numba caches)
    gen_ms, full_ms = [], []
    for s in schemas:
        t0 = time.perf_counter()
        schema_to_lark(s)
        t1 = time.perf_counter()
        Grammar.from_json_schema(s)
        t2 = time.perf_counter()
        gen_ms.append((t1 - t0) * 1e3)
        full_ms.append((t2 - t1) * 1e3)
    rows = {
        "schema_to_lark_ms": {"p50": statistics.median(gen_ms), "p90": pct(gen_ms, 90), "p99": pct(gen_ms, 99)},
        "grammar_compile_ms": {"p50": statistics.median(full_ms), "p90": pct(full_ms, 90), "p99": pct(full_ms, 99)},
    }
    print(f"{'stage':24s} {'p50 ms':>9s} {'p90 ms':>9s} {'p99 ms':>9s}   (n={args.n})")
    for k, v in rows.items():
        print(f"{k:24s} {v['p50']:9.2f} {v['p90']:9.2f} {v['p99']:9.2f}")
    goal = rows["grammar_compile_ms"]["p50"] <= 50.0
    print(f"goal full compile p50 <= 50 ms: {'met' if goal else 'NOT met'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"n": args.n, "seed": args.seed, **rows, "goal_met": goal}, indent=2))


if __name__ == "__main__":
    main()

"""Infilling (completability) latency on C++ and JSON with 1-3 holes: one-shot and incremental.

Instances: C++ functions from tests/grammar/cpp_corpus (builtin "cpp" grammar) and seeded random
JSON documents (builtin "json"), each with 1-3 random spans cut out as holes (HOLE).

* one-shot: ``g.completable(pieces)`` (numba kernel, ``budget`` work units per check).
* incremental: a diffusion-style loop: the cut text is put back token by token (regex tokens
  ``\\w+|\\s+|.``) at a random side (left/right) of a random hole; every step is one
  ``session.fill`` (Python engine with chart reuse, ``seconds`` budget per check).

Prints p50/p99 per setting and writes bench/out/infill.json. Undecided checks (budget hit) are
counted and reported, never dropped silently: their latency is the budget they consumed.

    .venv/bin/python bench/infill.py [--json N] [--cpp N] [--seconds S] [--max-steps K]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import sys
import time

import numpy as np

from memgram.grammar import HOLE, Grammar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOK = re.compile(r"\w+|\s+|.", re.S)


def rand_json(rnd, depth=0):
    r = rnd.random()
    if depth > 2 or r < 0.3:
        return rnd.choice([rnd.randint(-999, 99999), round(rnd.uniform(-100, 100), 3), True, False, None,
                           "".join(rnd.choice("abcdef xyz_-\\\"é") for _ in range(rnd.randint(0, 10)))])
    if r < 0.65:
        return {f"k{rnd.randint(0, 99)}": rand_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [rand_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def cpp_corpus(max_bytes=None):
    """(file name, text) of the C++ functions of tests/grammar/cpp_corpus, sorted by name; only those of at most
    ``max_bytes`` bytes when given."""
    out = []
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "grammar", "cpp_corpus", "*.cpp"))):
        text = open(f, encoding="utf-8").read()
        if max_bytes is None or len(text.encode()) <= max_bytes:
            out.append((os.path.basename(f), text))
    return out


def cut(rnd, text, n_holes, max_span=24):
    """Cut n_holes disjoint spans at token boundaries; returns (pieces, fills)."""
    toks = [m.span() for m in TOK.finditer(text)]
    bounds = sorted(set([a for a, _ in toks] + [len(text)]))
    for _ in range(100):
        starts = sorted(rnd.sample(range(len(bounds) - 1), n_holes))
        spans = []
        ok = True
        for s in starts:
            a = bounds[s]
            cands = [b for b in bounds if a < b <= a + max_span]
            if not cands:
                ok = False
                break
            spans.append((a, rnd.choice(cands)))
        if ok and all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1)):
            break
    else:
        return None
    pieces, fills, prev = [], [], 0
    for a, b in spans:
        pieces.append(text[prev:a])
        pieces.append(HOLE)
        fills.append(text[a:b])
        prev = b
    pieces.append(text[prev:])
    return pieces, fills


def pct(xs, q):
    return float(np.percentile(np.array(xs) * 1000.0, q)) if xs else float("nan")


def run(name, g, docs, rnd, args, out):
    for n_holes in (1, 2, 3):
        one, inc, undecided_one, undecided_inc, wrong = [], {}, 0, {}, 0
        reuse = dict(reused_positions=0, recomputed_positions=0)
        n_inst = 0
        for doc in docs:
            c = cut(rnd, doc, n_holes)
            if c is None:
                continue
            pieces, fills = c
            n_inst += 1
            t0 = time.perf_counter()
            r = g.completable(pieces, budget=args.budget)
            one.append(time.perf_counter() - t0)
            if r.ok is None:
                undecided_one += 1
            elif r.ok is False:
                wrong += 1   # the original text is a filling: must be completable
            # incremental: the same fill sequence on both session engines
            remaining0 = [TOK.findall(f) for f in fills]
            plan = []
            rem = [list(x) for x in remaining0]
            while any(rem) and len(plan) < args.max_steps:
                h = rnd.choice([i for i, x in enumerate(rem) if x])
                side = rnd.choice(["left", "right"])
                plan.append((h, rem[h].pop(0 if side == "left" else -1), side))
            for eng in args.session_engines:
                s = g.session(pieces, seconds=args.seconds if eng == "reference" else None,
                              budget=None if eng == "reference" else args.budget, engine=eng)
                s.check()
                for h, tok, side in plan:
                    t0 = time.perf_counter()
                    r = s.fill(h, tok, side)
                    inc.setdefault(eng, []).append(time.perf_counter() - t0)
                    if r.ok is None:
                        undecided_inc[eng] = undecided_inc.get(eng, 0) + 1
                    elif r.ok is False:
                        wrong += 1
                if eng == "reference":
                    for k in reuse:
                        reuse[k] += s.stats[k]
        row = dict(grammar=name, holes=n_holes, instances=n_inst,
                   oneshot_p50_ms=pct(one, 50), oneshot_p99_ms=pct(one, 99), oneshot_undecided=undecided_one,
                   wrong_no=wrong,
                   reuse_fraction=reuse["reused_positions"] / max(1, reuse["reused_positions"] + reuse["recomputed_positions"]))
        line = (f"{name:5s} holes={n_holes} n={n_inst:3d} | one-shot p50 {row['oneshot_p50_ms']:8.2f} ms p99 "
                f"{row['oneshot_p99_ms']:9.2f} ms undec {undecided_one:3d}")
        for eng, xs in inc.items():
            row[f"incremental_{eng}_checks"] = len(xs)
            row[f"incremental_{eng}_p50_ms"] = pct(xs, 50)
            row[f"incremental_{eng}_p99_ms"] = pct(xs, 99)
            row[f"incremental_{eng}_undecided"] = undecided_inc.get(eng, 0)
            line += (f" | incr[{eng}] ({len(xs)}) p50 {pct(xs, 50):8.2f} ms p99 {pct(xs, 99):9.2f} ms"
                     f" undec {undecided_inc.get(eng, 0)}")
        line += f" | reuse {row['reuse_fraction']:.2f} | wrong 'no' {wrong}"
        out.append(row)
        print(line, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=int, default=150, help="JSON documents (per hole count)")
    ap.add_argument("--cpp", type=int, default=70, help="C++ functions (per hole count)")
    ap.add_argument("--cpp-max-bytes", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per incremental check")
    ap.add_argument("--budget", type=int, default=2_000_000, help="work budget per one-shot check")
    ap.add_argument("--max-steps", type=int, default=30, help="incremental steps per instance")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--session-engines", default="fast,reference",
                    help="comma list of session engines to time (fast: numba recompute; reference: Python with reuse)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "infill.json"))
    args = ap.parse_args(argv)
    args.session_engines = [e for e in args.session_engines.split(",") if e]
    rnd = random.Random(args.seed)
    out = []
    meta = {}
    if args.json:
        t0 = time.perf_counter()
        g = Grammar.builtin("json")
        g.hole_graph
        meta["json_load_s"] = time.perf_counter() - t0
        docs = [json.dumps(rand_json(rnd), indent=rnd.choice([None, 1]), ensure_ascii=False) for _ in range(args.json)]
        docs = [d for d in docs if len(d) >= 8]
        g.completable(["[", HOLE, "]"])  # compile/warm the kernel outside the timings
        run("json", g, docs, rnd, args, out)
    if args.cpp:
        t0 = time.perf_counter()
        g = Grammar.builtin("cpp")
        g.hole_graph
        meta["cpp_load_s"] = time.perf_counter() - t0
        docs = [text for _, text in cpp_corpus(args.cpp_max_bytes)][: args.cpp]
        g.completable(["int f() {", HOLE, "}"], budget=1000)
        run("cpp", g, docs, rnd, args, out)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(args=vars(args), meta=meta, results=out), f, indent=1)
    print("wrote", args.out, meta)


if __name__ == "__main__":
    sys.exit(main())

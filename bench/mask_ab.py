"""Cold-mask A/B inside one process: the matcher as it is vs with ``GrammarIndex`` attributes changed.

    python bench/mask_ab.py [--n 300] [--set ROOT_BUDGET=0 ...] [--json out.json]

The schemas, instances and timing of bench/mask_latency.py (the first sequence of each freshly compiled grammar, at
most 64 masks), but each schema is compiled and followed twice, once per variant, in alternating order: a shared
machine's speed drifts by 1.5-2x within minutes here, which separate runs of the benchmark cannot tell from a change,
while two variants interleaved schema by schema see the same drift. Prints per variant: mask p50/p90/p99/mean and
index build p50 (``compile_matcher`` on an already built grammar).

Measured 2026-11-29 (``python bench/mask_ab.py --json bench/out/mask_ab_shared_walks.json``: variant B = no walks
kept for every acceptable set, each piece walked under its own set): mask p50 74.1 -> 56.2 µs, p90 191 -> 152 µs,
p99 329 -> 282 µs, mean 94.4 -> 73.7 µs; index build p50 7.54 -> 10.21 ms. Separate benchmark runs of one commit
read p50 50-77 µs within the same hour.

Measured 2026-11-29 (``python bench/mask_ab.py --set SHARED_FIRST=0 --json bench/out/mask_ab_shared_first.json``,
variant B = a per-set slice sought before the walk kept for every set): mask p50 55.0 -> 54.1 µs, mean 75.6 -> 71.4 µs,
p99 282 -> 273 µs (a 200-schema run: p50 53.9 -> 51.6, mean 75.3 -> 70.6, p99 288 -> 271).

Measured 2026-11-29, session 16 (``python bench/mask_ab.py --n 150 --set FAST=0 --json bench/out/mask_ab_fast.json``,
variant B = masks made by collect's Python recursion instead of one _compose call): mask p50 71.7 vs 70.1 µs, p90
145 vs 166 µs, p99 294 vs 306 µs, mean 84.0 vs 101.7 µs (a machine ~1.8x slower than the runs above).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=64)
    ap.add_argument("--set", action="append", default=[], metavar="ATTR=INT",
                    help="GrammarIndex attribute of variant B (repeatable); default ROOT_BUDGET=0")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import mask_latency as ML

    import memgram.grammar.matcher as MM
    from memgram.grammar import Grammar, GrammarError
    from memgram.runtime.vocab import token_table

    changes = {}
    for s in a.set or ["ROOT_BUDGET=0"]:
        k, _, v = s.partition("=")
        if not hasattr(MM.GrammarIndex, k):
            raise SystemExit(f"GrammarIndex has no attribute {k!r}")
        changes[k] = int(v)
    base = {k: getattr(MM.GrammarIndex, k) for k in changes}
    variants = {"as is": base, "with " + " ".join(f"{k}={v}" for k, v in changes.items()): changes}
    tok = ML.default_tokenizer()
    table = token_table(tok)
    cases = ML.build_cases(a.n, a.seed)
    masks = {v: [] for v in variants}
    builds = {v: [] for v in variants}
    buf = table.empty_mask()
    for ci, case in enumerate(cases):
        if case["valid"] is None:
            continue
        ids = tok.encode(case["valid"], add_special_tokens=False)[:a.max_steps]
        order = list(variants) if ci % 2 else list(reversed(variants))
        for name in order:
            for k, v in variants[name].items():
                setattr(MM.GrammarIndex, k, v)
            try:
                g = Grammar.from_json_schema(case["schema"])
            except GrammarError:    # refused schemas: as bench/mask_latency.py counts them, for both variants
                continue
            t0 = time.perf_counter()
            m = MM.compile_matcher(g, table)
            builds[name].append((time.perf_counter() - t0) * 1e3)
            for t in ids:
                t0 = time.perf_counter()
                m.mask(buf)
                masks[name].append((time.perf_counter() - t0) * 1e6)
                if not m.advance(t):
                    raise SystemExit(f"schema {ci}: token refused ({name})")
        print(f"\r{ci + 1}/{len(cases)} schemas", end="", file=sys.stderr)
    print(file=sys.stderr)
    for k, v in base.items():
        setattr(MM.GrammarIndex, k, v)
    out = {}
    for name in variants:
        v = masks[name]
        out[name] = {"masks": len(v), "p50_us": statistics.median(v), "p90_us": ML.pct(v, 90),
                     "p99_us": ML.pct(v, 99), "mean_us": statistics.mean(v),
                     "index_build_ms_p50": statistics.median(builds[name])}
        r = out[name]
        print(f"{name:<28} masks {r['masks']}  p50 {r['p50_us']:.1f}  p90 {r['p90_us']:.1f}  p99 {r['p99_us']:.0f}  "
              f"mean {r['mean_us']:.1f} µs  index build p50 {r['index_build_ms_p50']:.2f} ms")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Token masks along long JSON documents of N repeated parts: does the matcher's cost stay flat?

    python bench/mask_long.py [--items 300] [--out bench/out/mask_long.json]

Three documents: an array of N small objects, a map of N integers (``additionalProperties``), and an object with N
undeclared members holding any JSON (arrays and objects). Each is followed token by token (embedded model's
tokenizer) with a freshly compiled matcher, one mask per token; reported: the mask p50/p90/mean per quarter of the
document, the parser's item sets built and the finished masks kept. With repetitions written left-recursively
(grammar/json_schema.py) and equal item sets found again (grammar/chart_nb.py), the parts after the first few reach
item sets and masks already made.
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

SHAPES = {
    "array": ({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["id", "name"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "ok": {"type": "boolean"}}}}}},
        lambda n: {"items": [{"id": i, "name": f"n{i % 7}", "ok": i % 3 == 0} for i in range(n)]}),
    "map": ({"type": "object", "additionalProperties": {"type": "integer"}}, lambda n: {f"k{i}": i for i in range(n)}),
    "any": ({"type": "object", "properties": {"a": {"type": "string"}}},
            lambda n: {"a": "x", **{f"k{i}": [i, {"z": None}] for i in range(n)}}),
}


def main(argv=None):
    import mask_latency as ML

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--out", default="bench/out/mask_long.json")
    a = ap.parse_args(argv)
    tok = ML.default_tokenizer()
    eng = ML.MemgramEngine(tok)
    res = {"items": a.items, "command": "bench/mask_long.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    for name, (schema, make) in SHAPES.items():
        ids = tok.encode(json.dumps(make(a.items)), add_special_tokens=False)
        m = eng.compile(schema).copy()
        ts = []
        for t in ids:
            t0 = time.perf_counter()
            eng.mask(m)
            ts.append((time.perf_counter() - t0) * 1e6)
            if not m.advance(t):
                raise SystemExit(f"{name}: token {t} refused")
        if not m.is_accepting():
            raise SystemExit(f"{name}: document not accepted")
        ix = m.index
        p = ix.parser        # (an older checkout's Python parser lists its nodes: for an A/B through PYTHONPATH)
        n_sets = int(p.cnt[0]) if hasattr(p, "cnt") else len(p.nodes)
        q = len(ts) // 4
        quarters = [ts[i * q:(i + 1) * q] for i in range(4)]
        r = res[name] = {"tokens": len(ids), "item_sets": n_sets, "masks_kept": len(ix._masks),
                         "quarters": [{"p50_us": statistics.median(x), "p90_us": sorted(x)[int(0.9 * len(x))],
                                       "mean_us": statistics.fmean(x)} for x in quarters],
                         "all": {"p50_us": statistics.median(ts), "mean_us": statistics.fmean(ts)}}
        print(f"{name}: {len(ids)} tokens, {n_sets} item sets, {r['masks_kept']} masks kept; p50/mean per quarter: "
              + ", ".join(f"{x['p50_us']:.1f}/{x['mean_us']:.1f} us" for x in r["quarters"]))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

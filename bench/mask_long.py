"""Token masks along one long JSON document (an array of N small objects): does the matcher's cost stay flat?

    python bench/mask_long.py [--items 300] [--out bench/out/mask_long.json]

Follows the document's tokens (embedded model's tokenizer) with a freshly compiled matcher, one mask per token, and
reports the mask p50/p90/mean per quarter of the document, the parser's item sets built and the finished masks kept.
With repetitions written left-recursively (grammar/json_schema.py) and equal item sets found again
(grammar/chart_nb.py), the elements after the first few reach item sets and masks already made.
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

SCHEMA = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
    "type": "object", "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "ok": {"type": "boolean"}}}}}}


def main(argv=None):
    import mask_latency as ML

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--out", default="bench/out/mask_long.json")
    a = ap.parse_args(argv)
    tok = ML.default_tokenizer()
    eng = ML.MemgramEngine(tok)
    doc = json.dumps({"items": [{"id": i, "name": f"n{i % 7}", "ok": i % 3 == 0} for i in range(a.items)]})
    ids = tok.encode(doc, add_special_tokens=False)
    m = eng.compile(SCHEMA).copy()
    ts = []
    for t in ids:
        t0 = time.perf_counter()
        eng.mask(m)
        ts.append((time.perf_counter() - t0) * 1e6)
        if not m.advance(t):
            raise SystemExit(f"token {t} refused")
    if not m.is_accepting():
        raise SystemExit("document not accepted")
    ix = m.index
    p = ix.parser        # (an older checkout's Python parser lists its nodes: for an A/B through PYTHONPATH)
    n_sets = int(p.cnt[0]) if hasattr(p, "cnt") else len(p.nodes)
    q = len(ts) // 4
    quarters = [ts[i * q:(i + 1) * q] for i in range(4)]
    res = {"items": a.items, "tokens": len(ids), "item_sets": n_sets, "masks_kept": len(ix._masks),
           "quarters": [{"p50_us": statistics.median(x), "p90_us": sorted(x)[int(0.9 * len(x))],
                         "mean_us": statistics.fmean(x)} for x in quarters],
           "all": {"p50_us": statistics.median(ts), "mean_us": statistics.fmean(ts)},
           "command": "bench/mask_long.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    print(f"{len(ids)} tokens, {res['item_sets']} item sets, {res['masks_kept']} masks kept")
    for i, x in enumerate(res["quarters"]):
        print(f"quarter {i + 1}: p50 {x['p50_us']:.1f} us  p90 {x['p90_us']:.1f} us  mean {x['mean_us']:.1f} us")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

"""Pass-key probe: many prompts x several configs at one length, one JSON line per answer (for comparing settings).

    python bench/passkey_probe.py 6144 --depths 0.1,0.2,0.3,0.4,0.5,0.6 --seeds 0,1 \
        --configs '{}' '{"repr_topk":16}' '{"block_size":32,"topk":32}' '{"mode":"window"}' '{"mode":"full"}'

Each config is a JSON object of BlockMemoryConfig fields over the defaults (``mode`` included; default ``block``).
Prompts are ``memgram.runtime.longctx.passkey_prompt(tok, length, depth, seed)``, the same as ``memgram passkey``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("length", type=int)
    ap.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--configs", nargs="+", default=["{}"])
    ap.add_argument("--out", help="append the JSON lines to this file as well")
    a = ap.parse_args(argv)
    from memgram import BlockMemoryConfig, load_default_model
    from memgram.runtime.eval_runner import generate_answer
    from memgram.runtime.longctx import passkey_prompt

    cfgs = [json.loads(c) for c in a.configs]
    model, tok = load_default_model()
    out = open(a.out, "a") if a.out else None
    for seed in [int(s) for s in a.seeds.split(",")]:
        for d in [float(x) for x in a.depths.split(",")]:
            ids, key = passkey_prompt(tok, a.length, d, seed)
            for c in cfgs:
                c = dict(c)
                mode = c.pop("mode", "block")
                ans, dt, _ = generate_answer(model, tok, ids[0].tolist(), mode, BlockMemoryConfig(**c), max_new_tokens=8)
                line = json.dumps(dict(mode=mode, cfg=c, length=ids.shape[1], depth=d, seed=seed, key=key, answer=ans,
                                       correct=key in ans, seconds=round(dt, 1)))
                print(line, flush=True)
                if out:
                    out.write(line + "\n")
                    out.flush()


if __name__ == "__main__":
    sys.exit(main())

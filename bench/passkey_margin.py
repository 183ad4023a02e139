"""Pass-key margin: teacher-forced log-probability of the answer, per prompt and config (JSON lines).

    python bench/passkey_margin.py 6144 --depths 0.3,0.6,0.8 --seeds 0,1 \
        --configs '{}' '{"memory_positions":"ordered"}' '{"mode":"full"}' --out bench/out/passkey_margin_6k.jsonl

A found/missed pass key is one bit from a decision that is often marginal on the embedded 135M model (the first
answer token, " " before the digits, against " the"). This measures how far each config is from that edge: the
prompt minus its last token is prefilled in 2048-token pieces (as ``generate()`` does), then the last prompt token
and the answer ``" KEY"`` are fed one token at a time (as decoding does), and for every answer token its
log-probability is recorded. ``greedy_ok``: every answer token was the argmax (greedy decoding would produce the key);
``logp``: sum over the answer tokens; ``min_logp``: the weakest of them.
Prompts are ``memgram.runtime.longctx.passkey_prompt`` (the same as ``memgram passkey``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("length", type=int)
    ap.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--configs", nargs="+", default=["{}"],
                    help="JSON objects of BlockMemoryConfig fields over the defaults (mode included)")
    ap.add_argument("--out", help="append the JSON lines to this file as well")
    a = ap.parse_args(argv)
    import torch

    from memgram import BlockMemoryCache, BlockMemoryConfig, load_default_model
    from memgram.runtime.longctx import passkey_prompt

    model, tok = load_default_model()
    out = open(a.out, "a") if a.out else None
    for seed in [int(s) for s in a.seeds.split(",")]:
        for d in [float(x) for x in a.depths.split(",")]:
            ids, key = passkey_prompt(tok, a.length, d, seed)
            answer = tok(" " + key, add_special_tokens=False)["input_ids"]
            for spec in a.configs:
                cfg = BlockMemoryConfig(**json.loads(spec))
                cache = BlockMemoryCache(model, cfg)
                t = time.time()
                with torch.no_grad():
                    n = ids.shape[1] - 1
                    piece = cfg.prefill_chunk or n
                    for s in range(0, n, piece):
                        model(ids[:, s:min(n, s + piece)], past_key_values=cache, use_cache=True)
                    fed = [int(ids[0, -1])] + answer
                    lps, ok = [], True
                    for i, want in enumerate(answer):
                        logits = model(torch.tensor([[fed[i]]]), past_key_values=cache, use_cache=True).logits[0, -1]
                        lps.append(round(float(torch.log_softmax(logits.float(), -1)[want]), 3))
                        ok = ok and int(logits.argmax()) == want
                rec = dict(cfg=json.loads(spec), length=ids.shape[1], depth=d, seed=seed, key=key, greedy_ok=ok,
                           logp=round(sum(lps), 3), min_logp=min(lps), lps=lps, seconds=round(time.time() - t, 1))
                print(json.dumps(rec), flush=True)
                if out:
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                del cache


if __name__ == "__main__":
    sys.exit(main())

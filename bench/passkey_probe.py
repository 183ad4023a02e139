"""Pass-key probe: many prompts x several configs at one length, one JSON line per answer (for comparing settings).

    python bench/passkey_probe.py 6144 --depths 0.1,0.2,0.3,0.4,0.5,0.6 --seeds 0,1 \
        --configs '{}' '{"repr_topk":16}' '{"block_size":32,"topk":32}' '{"mode":"window"}' '{"mode":"full"}'

Each config is a JSON object of BlockMemoryConfig fields over the defaults (``mode`` included; default ``block``).
Prompts are ``memgram.runtime.longctx.passkey_prompt(tok, length, depth, seed)``, the same as ``memgram passkey``.

``--margin``: instead of one found/missed bit from greedy decoding, measure how far each config is from the edge. A
found/missed pass key is often a marginal decision on the embedded 135M model (the first answer token, " " before the
digits, against " the"). The answer ``" KEY"`` is forced token by token through ``generate()``
(a logits processor) and each answer token's log-probability is recorded: ``greedy_ok`` (every answer token was the argmax, so greedy decoding
produces the key), ``logp`` (the sum) and ``min_logp`` (the weakest token), e.g.

    python bench/passkey_probe.py 6144 --margin --depths 0.3,0.6,0.8 --seeds 0,1 \
        --configs '{}' '{"memory_positions":"ordered"}' '{"mode":"full"}' --out bench/out/passkey_margin_6k.jsonl

A first version fed the prompt and answer through ``model(...)`` calls without ``generate()``: its 16K numbers
differed from run to run and from ``generate()``. The cause was a bug in ``BlockMemoryCache`` (fixed in 29c4a35): it
reused the rotary angles of the previous forward when a new position tensor landed at the same address, so a prefill
piece could be de-rotated with the previous piece's angles (tests/runtime/test_block_cache.py reproduces the reuse).
The tool keeps the ``generate()`` path: it measures exactly what the sweeps decode.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def answer_margin(model, tok, ids, answer, mode, cfg) -> dict:
    """Teacher-forced log-probabilities of the ``answer`` token ids after the prompt ``ids [1, L]`` (see --margin).

    The same ``generate()`` call as every answer of the sweeps (``generate_answer``), with a logits processor that
    records each step's log-probability of the wanted token and then forces it."""
    import torch
    from transformers import LogitsProcessor

    from memgram.runtime.eval_runner import generate_answer

    class Force(LogitsProcessor):
        def __init__(self):
            self.lps, self.ok = [], True

        def __call__(self, input_ids, scores):
            want = answer[len(self.lps)]
            self.lps.append(round(float(torch.log_softmax(scores[0].float(), -1)[want]), 3))
            self.ok = self.ok and int(scores[0].argmax()) == want
            forced = torch.full_like(scores, float("-inf"))
            forced[:, want] = 0
            return forced

    proc = Force()
    generate_answer(model, tok, ids[0].tolist(), mode, cfg, max_new_tokens=len(answer), logits_processor=[proc])
    lps = proc.lps
    return dict(greedy_ok=proc.ok, logp=round(sum(lps), 3), min_logp=min(lps), lps=lps)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("length", type=int)
    ap.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--configs", nargs="+", default=["{}"])
    ap.add_argument("--margin", action="store_true", help="teacher-forced answer log-probabilities (see above)")
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
                rec = dict(mode=mode, cfg=c, length=ids.shape[1], depth=d, seed=seed, key=key)
                t = time.time()
                if a.margin:
                    rec.update(answer_margin(model, tok, ids, tok(" " + key, add_special_tokens=False)["input_ids"],
                                             mode, BlockMemoryConfig(**c)))
                else:
                    ans, _, _ = generate_answer(model, tok, ids[0].tolist(), mode, BlockMemoryConfig(**c),
                                                max_new_tokens=8)
                    rec.update(answer=ans, correct=key in ans)
                rec["seconds"] = round(time.time() - t, 1)
                line = json.dumps(rec)
                print(line, flush=True)
                if out:
                    out.write(line + "\n")
                    out.flush()


if __name__ == "__main__":
    sys.exit(main())

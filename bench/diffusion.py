"""Constrained masked-diffusion decoding: validity with/without the grammar, checks per committed
token, check time p50/p99, model vs check time — random-logit model (JSON, C++) and a tiny trained
masked-diffusion model (arithmetic expressions).

    python bench/diffusion.py [--budget-s 420] [--out bench/out/diffusion.json]

Each configuration runs until ``--runs`` runs or its share of the time budget is spent (a run
that has started finishes), so the whole benchmark stays under ~10 minutes on 2 CPU cores.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np

from memgram.grammar import Grammar
from memgram.runtime import diffusion as D

VOCABS = {
    "json": D.toy_json_vocab(),
    "cpp": D.ToyVocab(D.TOY_PRINTABLE + ["int", "return", "if", "while", "main", "  ", "//", "/*", "*/"]),
}
ARITH = D.ARITH_GRAMMAR


def pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def run_config(name, g, make_model, voc, gen_length, steps, block, runs, seconds, temperature=0.0, **ckw):
    res = dict(grammar=name, gen_length=gen_length, steps=steps, block_length=block)
    t_end = time.perf_counter() + seconds
    con, free = [], []
    for seed in range(runs):
        if seed and time.perf_counter() > t_end:
            break
        kw = dict(gen_length=gen_length, steps=steps, block_length=block, seed=seed, temperature=temperature)
        free.append(D.diffusion_generate(make_model(seed), voc, "", **kw))
        left = max(20.0, t_end - time.perf_counter())
        con.append(D.diffusion_generate(make_model(seed), voc, "", grammar=g, refusal_budget=100_000,
                                        max_seconds=left, **kw, **ckw))
    times = [t for r in con for t in r.check_times]
    done = [r for r in con if not r.timed_out]
    res.update(
        runs=len(con), timed_out=len(con) - len(done),
        valid_free=sum(g.accepts(r.text) for r in free) / len(free),
        # None when no constrained run finished within its time share
        valid_constrained=sum(g.accepts(r.text) for r in done) / len(done) if done else None,
        fallback_rate=sum(r.fallback for r in done) / len(done) if done else None,
        checks_per_token=sum(r.checks for r in con) / max(1, sum(r.committed for r in con)),
        refusals_per_run=sum(r.refusals for r in con) / len(con),
        backtracks_per_run=sum(r.backtracks for r in con) / len(con),
        check_ms_p50=pct(times, 50) * 1e3, check_ms_p99=pct(times, 99) * 1e3,
        model_s=sum(r.model_seconds for r in con), check_s=sum(r.check_seconds for r in con),
        total_s=sum(r.total_seconds for r in con),
        distinct=len({r.text for r in con}),
        example=con[0].text[:80])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out", "diffusion.json"))
    ap.add_argument("--only", default="", help="comma list of json,cpp,tiny")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else {"json", "cpp", "tiny"}
    grid = [(L, S) for L in (128, 256) for S in (32, 128)]
    configs = []
    if "json" in only:
        configs += [("json", L, S) for L, S in grid]
    if "cpp" in only:
        configs += [("cpp", L, S) for L, S in grid]
    share = a.budget_s / max(1, len(configs) + ("tiny" in only))
    rows = []
    hdr = (f"{'grammar':8} {'L':>4} {'steps':>5} {'runs':>4} {'valid free':>10} {'valid con':>9} {'fallback':>8} "
           f"{'chk/tok':>7} {'chk p50 ms':>10} {'chk p99 ms':>10} {'model s':>8} {'check s':>8} {'timeout':>7}")
    print(hdr)
    grammars = {}
    for name, L, S in configs:
        if name not in grammars:
            grammars[name] = Grammar.builtin(name)
            grammars[name].completable(["x"])           # build tables outside the timing
        voc = VOCABS[name]
        ckw = dict(exact_multi=False) if name == "cpp" else {}
        r = run_config(name, grammars[name], lambda seed, v=voc: D.RandomLogits(len(v), seed=seed), voc, L, S, 32,
                       a.runs, share, **ckw)
        r["model"] = "random"
        rows.append(r)
        vc = "n/a" if r["valid_constrained"] is None else f"{r['valid_constrained']:.2f}"
        fb = "n/a" if r["fallback_rate"] is None else f"{r['fallback_rate']:.2f}"
        print(f"{name:8} {L:4} {S:5} {r['runs']:4} {r['valid_free']:10.2f} {vc:>9} "
              f"{fb:>8} {r['checks_per_token']:7.2f} {r['check_ms_p50']:10.2f} "
              f"{r['check_ms_p99']:10.2f} {r['model_s']:8.2f} {r['check_s']:8.2f} {r['timed_out']:7}", flush=True)
    if "tiny" in only:
        voc = D.ToyVocab(list("0123456789+-*()"))
        rng = random.Random(0)

        def expr(d):
            if d > 2 or rng.random() < 0.4:
                return str(rng.randint(0, 99))
            if rng.random() < 0.3:
                return "(" + expr(d + 1) + ")"
            return expr(d + 1) + rng.choice("+-*") + expr(d + 1)
        samples = [s for s in (expr(0) for _ in range(4000)) if len(s) <= 14]
        model = D.train_tiny_mlm(samples, voc, 16, seconds=10.0, max_iters=600)
        g = Grammar.from_lark(ARITH)
        r = run_config("arith", g, lambda seed: model, voc, 16, 8, 16, 100, share, temperature=1.0)
        r.update(model="tiny", train_iters=model.train_iters, train_loss=model.final_loss)
        rows.append(r)
        print(f"{'arith':8} {16:4} {8:5} {r['runs']:4} {r['valid_free']:10.2f} {r['valid_constrained']:9.2f} "
              f"{r['fallback_rate']:8.2f} {r['checks_per_token']:7.2f} {r['check_ms_p50']:10.2f} "
              f"{r['check_ms_p99']:10.2f} {r['model_s']:8.2f} {r['check_s']:8.2f}  (tiny model)", flush=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(dict(rows=rows, argv=sys.argv[1:], cpu_count=os.cpu_count()), f, indent=1)
    print("wrote", a.out)


if __name__ == "__main__":
    main()

"""Long-context evaluation benchmark: several tasks x memory modes x lengths x depths in one process, records saved
after every answer (``--resume`` continues a stopped run), a table, JSON and a PNG; optionally the structured
extraction benchmark (synthetic ~20K-token incident log, precision/recall per mode).

    python bench/longctx.py --tasks passkey,needle,kv-retrieval --mode block,full,window \\
        --lengths 4096,8192,16384,32768 --depths 0.1,0.5,0.9 --full-max-length 16384 --samples-at 32768:1 \\
        --json bench/out/longctx.json --plot bench/out/longctx.png --resume
    python bench/longctx.py --tasks none --extract --mode block,window,full --extract-samples 2 \\
        --json bench/out/extract.json

Runs split over several processes (each with its own ``--json``) are merged with ``--report``: it runs nothing and
writes the table, JSON and plot from the ``--reuse`` records that answer the jobs asked:

    python bench/longctx.py --report --tasks passkey,needle,kv-retrieval --mode block,window,full \
        --lengths 4096,8192,16384,32768 --depths 0.3,0.7 --reuse a.json --reuse b.json --json all.json --plot all.png

(``memgram eval TASK ...`` runs one task with the same runner.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from memgram.runtime.cli import _config, _floats, _ints  # noqa: E402
from memgram.runtime.cli_eval import add_eval_args  # noqa: E402


def _key(r):
    return (r["task"], r["mode"], r["target_length"], r["depth"], r["sample"])


def _meta_seed(meta: dict) -> int:
    if "seed" in meta:
        return int(meta["seed"])
    argv = meta.get("argv", [])
    for i, a in enumerate(argv):
        if a == "--seed" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--seed="):
            return int(a.split("=", 1)[1])
    return 0


def reuse_records(path, recs, done, cfg, seed, tasks, modes, lengths, depths, samples_for) -> int:
    """Add the records of an earlier run (same runner, so the same prompts for the same seed) that answer jobs of
    this run; the block-memory config (mode aside) and the seed must match, else this raises."""
    data = json.load(open(path))
    meta = data.get("meta", {})
    # keys added to the config later, with the only behaviour that existed before them
    legacy = {"memory_positions": "fixed", "tail_lookup": False, "max_distance": None}
    theirs = {k: v for k, v in {**legacy, **meta.get("config", {})}.items() if k != "mode"}
    ours = {k: v for k, v in cfg.to_dict().items() if k != "mode"}
    if theirs != ours:
        raise SystemExit(f"--reuse {path}: block-memory config differs: {theirs} vs {ours}")
    if _meta_seed(meta) != seed:
        raise SystemExit(f"--reuse {path}: seed {_meta_seed(meta)} differs from --seed {seed}")
    n = 0
    for r in data.get("records", []):
        r = {"task": "passkey", **r}
        if (r["task"] not in tasks or r["mode"] not in modes or r["target_length"] not in lengths
                or r["depth"] not in depths or r["sample"] >= samples_for(r["target_length"]) or _key(r) in done):
            continue
        r["reused_from"] = str(path)
        recs.append(r)
        done.add(_key(r))
        n += 1
    return n


def extraction_records(model, tok, modes, cfg, samples, n_tokens, incidents, seed, max_new_tokens, on_record, done):
    from memgram.runtime.extraction import INCIDENT_SCHEMA, ExtractionError, extract, make_log_tokens, score_extraction
    from memgram.runtime.longctx import peak_rss_mb, reset_peak_rss

    for s in range(samples):
        text, gold = make_log_tokens(tok, n_tokens, incidents, seed + s)
        for mode in modes:
            rec = {"task": "extract", "mode": mode, "target_length": n_tokens, "depth": None, "sample": s}
            if _key(rec) in done:
                continue
            print(f"extract {mode} sample {s}: ~{n_tokens} tokens, {incidents} incidents ...", flush=True)
            reset_peak_rss()
            t0 = time.perf_counter()
            stats = {}
            try:
                value, raw = extract(model, tok, text, INCIDENT_SCHEMA, mode=mode, config=cfg,
                                     max_new_tokens=max_new_tokens, return_text=True, stats=stats)
                valid, err = True, None
            except ExtractionError as e:
                value, raw, valid, err = {"incidents": []}, None, False, str(e)
            dt = time.perf_counter() - t0
            sc = score_extraction(value, gold)
            n = len(tok(text, add_special_tokens=False)["input_ids"])
            rec.update(length=n, tokens=n, score=sc["recall"], correct=sc["recall"] == 1.0 and sc["precision"] == 1.0,
                       valid_json=valid, error=err, precision=sc["precision"], recall=sc["recall"], f1=sc["f1"],
                       tp=sc["tp"], predicted=sc["predicted"], gold=sc["gold"], answer=raw, expected=gold,
                       seconds=dt, tokens_per_s=n / dt, peak_rss_mb=peak_rss_mb(), unit_mb=stats.get("units", 0) / 2**20)
            on_record(rec)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="passkey,needle,kv-retrieval",
                   help="comma-separated: passkey, needle, kv-retrieval, multi-needle, longbench, infinitebench; 'none'")
    p.add_argument("--samples-at", default="", help="fewer samples at some lengths, e.g. 32768:1")
    p.add_argument("--resume", action="store_true", help="keep the records already in --json and skip them")
    p.add_argument("--reuse", action="append", default=[], metavar="JSON",
                   help="records of an earlier run (`memgram passkey --json` or this script) with the same block-memory "
                        "config and seed: its records for jobs asked here are kept instead of run again (repeatable)")
    p.add_argument("--report", action="store_true",
                   help="run nothing: table, JSON and plot from the --resume / --reuse records that match the jobs asked")
    p.add_argument("--extract", action="store_true", help="also run the extraction benchmark")
    p.add_argument("--extract-samples", type=int, default=1)
    p.add_argument("--extract-tokens", type=int, default=20000)
    p.add_argument("--extract-incidents", type=int, default=6)
    p.add_argument("--extract-max-new-tokens", type=int, default=None,
                   help="default: extract()'s (the schema's longest document in bytes + 1)")
    add_eval_args(p)
    args = p.parse_args(argv)

    from tqdm.auto import tqdm

    from memgram.runtime.eval_runner import format_scores_table, plot_records, run_eval, summarize_scores, write_records_json
    from memgram.runtime.model import load_default_model

    cfg = _config(args)
    modes = [m for m in args.mode.split(",") if m]
    tasks = [t for t in args.tasks.split(",") if t and t != "none"]
    per_len = {int(a): int(b) for a, b in (x.split(":") for x in args.samples_at.split(",") if x)}
    recs = []
    if args.resume and args.json and os.path.exists(args.json):
        recs = json.load(open(args.json))["records"]
        print(f"resuming: {len(recs)} records from {args.json}", flush=True)
    done = {_key(r) for r in recs}
    for path in args.reuse:
        n = reuse_records(path, recs, done, cfg, args.seed, tasks, modes, _ints(args.lengths), _floats(args.depths),
                          lambda L: min(args.samples, per_len.get(L, args.samples)))
        print(f"reusing {n} records from {path}", flush=True)
    meta = {"config": cfg.to_dict(), "seed": args.seed, "argv": sys.argv[1:]}
    model, tok = (None, None) if args.report else load_default_model()

    def save(r):
        recs.append(r)
        done.add(_key(r))
        extra = f" P {r['precision']:.2f} R {r['recall']:.2f} valid {r['valid_json']}" if r["task"] == "extract" else ""
        where = "" if r["depth"] is None else f"depth {r['depth']:.0%}"
        print(f"{r['task']} {r['mode']:<6} {r['target_length']:>6} {where} #{r['sample']}: score {r['score']:.2f} {str(r['answer'])[:40]!r}{extra} {r['seconds']:.1f}s "
              f"{r['peak_rss_mb']:.0f}MB", flush=True)
        if args.json:
            write_records_json(args.json, recs, meta)

    jobs = []  # (task, length, mode, depth, sample): synthetic tasks one answer per job; loader tasks one job per file
    for task in tasks:
        for L in _ints(args.lengths):
            n = min(args.samples, per_len.get(L, args.samples))
            for mode in modes:
                if mode == "full" and args.full_max_length and L > args.full_max_length:
                    continue
                if task in ("longbench", "infinitebench"):
                    jobs.append((task, L, mode, None, None))
                    continue
                jobs += [(task, L, mode, d, s) for d in _floats(args.depths) for s in range(n)
                         if (task, mode, L, d, s) not in done]
    if args.report:
        if jobs:
            print(f"--report: {len(jobs)} jobs have no record (not run): "
                  + ", ".join(f"{t} {m} {L} depth {d}" for t, L, m, d, _ in jobs[:12]) + (" ..." if len(jobs) > 12 else ""))
        jobs = []
        if args.json:
            write_records_json(args.json, recs, meta)
    bar = tqdm(jobs, desc="longctx", disable=args.no_progress, dynamic_ncols=True)
    for task, L, mode, d, s in bar:
        bar.set_postfix_str(f"{task} {mode} {L}" + ("" if d is None else f" depth {d:.0%} #{s}"))
        if d is None:
            run_eval(model, tok, task, [mode], [L], data=args.data, limit=args.limit, config=cfg, progress=False,
                     on_record=lambda r: None if _key(r) in done else save(r))
        else:
            def one(r, s=s):
                r["sample"] = s
                save(r)

            run_eval(model, tok, task, [mode], [L], [d], samples=1, seed=args.seed + s, config=cfg, progress=False,
                     on_record=one)
    if args.extract and not args.report:
        extraction_records(model, tok, modes, cfg, args.extract_samples, args.extract_tokens, args.extract_incidents,
                           args.seed, args.extract_max_new_tokens, save, done)
    print()
    print(format_scores_table(summarize_scores(recs)))
    ex = [r for r in recs if r["task"] == "extract"]
    if ex:
        print("\nextraction (synthetic incident log):")
        for mode in modes:
            rs = [r for r in ex if r["mode"] == mode]
            if rs:
                print(f"  {mode:<7} n={len(rs)} valid JSON {sum(r['valid_json'] for r in rs)}/{len(rs)} "
                      f"precision {sum(r['precision'] for r in rs) / len(rs):.2f} "
                      f"recall {sum(r['recall'] for r in rs) / len(rs):.2f} "
                      f"s/doc {sum(r['seconds'] for r in rs) / len(rs):.0f}")
    if args.json:
        print(f"\nwrote {args.json}")
    if args.plot and recs:
        plot_records(args.plot, recs)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

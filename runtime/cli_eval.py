"""``memgram eval TASK ...`` (long-context evaluations) and ``memgram extract`` (schema-constrained extraction from a
long document); discovered by :mod:`memgram.runtime.cli`."""
from __future__ import annotations

import json
import sys

from .cli import _add_memory_args, _config, _floats, _ints

DEFAULT_LENGTHS = "4096,8192,16384,32768"


def add_eval_args(p) -> None:
    p.add_argument("--mode", default="block", help="comma-separated memory modes: block,full,window")
    p.add_argument("--lengths", default=DEFAULT_LENGTHS,
                   help="prompt lengths in tokens (for longbench/infinitebench: truncation budgets)")
    p.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9", help="relative positions of the fact(s), 0..1")
    p.add_argument("--samples", type=int, default=1, help="samples per (length, depth)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--full-max-length", type=int, default=None, help="skip full attention above this length")
    p.add_argument("--data", default=None, help="JSONL file for longbench / infinitebench")
    p.add_argument("--limit", type=int, default=None, help="first N records of --data")
    p.add_argument("--json", default=None, help="write records + summary here")
    p.add_argument("--plot", default=None, help="write a PNG here")
    p.add_argument("--no-progress", action="store_true")
    _add_memory_args(p)


def cmd_eval(args) -> int:
    from .eval_runner import format_scores_table, plot_records, run_eval, summarize_scores, write_records_json
    from .model import load_default_model

    cfg = _config(args)
    modes = [m for m in args.mode.split(",") if m]
    model, tok = load_default_model()
    recs = []
    meta = {"task": args.task, "config": cfg.to_dict(), "argv": sys.argv[1:]}

    def save(r):
        recs.append(r)
        where = f"depth {r['depth']:.0%}" if r["depth"] is not None else f"#{r['sample']}"
        print(f"{r['task']} {r['mode']:<6} {r['target_length']:>6} {where}: score {r['score']:.2f} "
              f"{r['answer'][:40]!r} expected {str(r['expected'])[:40]!r} {r['seconds']:.1f}s "
              f"{r['peak_rss_mb']:.0f}MB", flush=True)
        if args.json:
            write_records_json(args.json, recs, meta)

    run_eval(model, tok, args.task, modes, _ints(args.lengths), _floats(args.depths), samples=args.samples,
             seed=args.seed, config=cfg, full_max_length=args.full_max_length, data=args.data, limit=args.limit,
             progress=not args.no_progress, on_record=save)
    print()
    print(format_scores_table(summarize_scores(recs)))
    if args.json:
        print(f"\nwrote {args.json}")
    if args.plot and recs:
        plot_records(args.plot, recs)
        print(f"wrote {args.plot}")
    return 0


def cmd_extract(args) -> int:
    from .extraction import INCIDENT_SCHEMA, extract, make_log_tokens, score_extraction
    from .model import load_default_model

    model, tok = load_default_model()
    gold = None
    if args.file:
        document = open(args.file, encoding="utf8").read()
    else:  # the demo: a synthetic log with incidents scattered through it
        document, gold = make_log_tokens(tok, args.demo_tokens, args.incidents, args.seed)
    schema = json.load(open(args.schema)) if args.schema else INCIDENT_SCHEMA
    instruction = args.instruction or None
    kw = {"instruction": instruction} if instruction else {}
    value = extract(model, tok, document, schema, mode=args.mode, config=_config(args),
                    max_new_tokens=args.max_new_tokens, **kw)
    print(json.dumps(value, indent=1))
    if gold is not None:
        s = score_extraction(value, gold)
        print(f"# gold {s['gold']} records; precision {s['precision']:.2f} recall {s['recall']:.2f}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    from .eval_runner import ALL_TASKS

    e = sub.add_parser("eval", help="long-context evaluation: " + ", ".join(ALL_TASKS))
    e.add_argument("task", choices=ALL_TASKS)
    add_eval_args(e)
    e.set_defaults(fn=cmd_eval)
    x = sub.add_parser("extract", help="JSON-Schema constrained extraction from a long document (block memory)")
    x.add_argument("instruction", nargs="?", default=None, help="what to extract (default: the incident instruction)")
    x.add_argument("--schema", default=None, help="JSON Schema file (default: the incident schema)")
    x.add_argument("--file", default=None, help="document (default: a synthetic ~20K-token log with incidents)")
    x.add_argument("--mode", default="block", choices=("block", "full", "window"))
    x.add_argument("--max-new-tokens", type=int, default=None,
                   help="default: the schema's longest document in bytes + 1 if it is bounded (always completes), else 1024")
    x.add_argument("--demo-tokens", type=int, default=20000)
    x.add_argument("--incidents", type=int, default=6)
    x.add_argument("--seed", type=int, default=0)
    _add_memory_args(x)
    x.set_defaults(fn=cmd_extract)

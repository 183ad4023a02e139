"""The ``memgram`` command line: ``memgram demo``, ``memgram passkey`` (more subcommands come with the other features)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _floats(s):
    return [float(x) for x in s.split(",") if x]


def _ints(s):
    return [int(x) for x in s.split(",") if x]


def _config(args):
    from ..memory.config import BlockMemoryConfig

    return BlockMemoryConfig(n_init=args.n_init, n_local=args.n_local, block_size=args.block_size, topk=args.topk,
                             repr_topk=args.repr_topk, exec_chunk=args.exec_chunk,
                             memory_positions=args.memory_positions, max_distance=args.max_distance,
                             tail_lookup=args.tail_lookup).validate()


def _add_memory_args(p):
    from ..memory.config import MEMORY_POSITIONS, BlockMemoryConfig

    dflt = BlockMemoryConfig()
    g = p.add_argument_group("block memory")
    g.add_argument("--n-init", type=int, default=dflt.n_init)
    g.add_argument("--n-local", type=int, default=dflt.n_local)
    g.add_argument("--block-size", type=int, default=dflt.block_size)
    g.add_argument("--topk", type=int, default=dflt.topk)
    g.add_argument("--repr-topk", type=int, default=dflt.repr_topk)
    g.add_argument("--memory-positions", choices=MEMORY_POSITIONS, default=dflt.memory_positions,
                   help="sinks + units at one distance (InfLLM), laid out in order before the window, or at their "
                        "true distance up to --max-distance")
    g.add_argument("--max-distance", type=int, default=None,
                   help="--memory-positions true: farthest distance of a memory key (default: the model's trained "
                        "length minus --exec-chunk)")
    g.add_argument("--tail-lookup", action="store_true",
                   help="the last query of each forward call retrieves units on its own (as decoding steps do)")
    g.add_argument("--exec-chunk", type=int, default=dflt.exec_chunk)


def cmd_demo(args) -> int:
    from dataclasses import asdict

    from .evaluation import format_table, summarize
    from .longctx import run_passkey
    from .model import load_default_model

    cfg = _config(args)
    print(f"memgram demo: a pass key hidden at {args.depth:.0%} depth of a ~{args.length:,}-token haystack, answered by "
          f"SmolLM2-135M-Instruct (trained on 8,192 tokens) with block memory, next to full attention at "
          f"{args.full_length:,} tokens (what it can still manage on this machine).")
    print(f"Expect about {args.length * 0.009 / 60 + args.full_length * 0.003 / 60 + 0.3:.0f} minutes on 2 CPU cores.",
          flush=True)
    model, tok = load_default_model()
    recs = []
    for mode, L in (("block", args.length), ("full", args.full_length)):
        t0 = time.time()
        print(f"\n[{mode}] {L:,} tokens ...", flush=True)
        r = run_passkey(model, tok, L, args.depth, mode, cfg, seed=args.seed)
        print(f"[{mode}] answer: {r.answer!r}  (pass key {r.key}: {'found' if r.correct else 'NOT found'}) "
              f"in {time.time() - t0:.1f} s", flush=True)
        d = asdict(r)
        d.update(target_length=L)
        recs.append(d)
    print()
    print(format_table(summarize(recs)))
    return 0 if recs[0]["correct"] else 1


def cmd_passkey(args) -> int:
    from .evaluation import format_table, passkey_sweep, plot, summarize, write_json
    from .model import load_default_model

    cfg = _config(args)
    if args.malloc_mmap_threshold is not None:
        from .longctx import fix_malloc_mmap_threshold

        if not fix_malloc_mmap_threshold(args.malloc_mmap_threshold << 10):
            print("--malloc-mmap-threshold: mallopt is not available here (glibc only)", file=sys.stderr)
            return 2
    model, tok = load_default_model()
    modes = [m for m in args.mode.split(",") if m]
    recs = []

    def save(r):
        recs.append(r)
        print(f"{r['mode']:<6} {r['target_length']:>6} depth {r['depth']:.0%}: {'OK ' if r['correct'] else 'MISS'} "
              f"{r['answer'][:24]!r} key {r['key']} {r['seconds']:.1f}s {r['peak_rss_mb']:.0f}MB", flush=True)
        if args.json:
            write_json(args.json, recs, summarize(recs), {"config": cfg.to_dict(), "seed": args.seed, "argv": sys.argv[1:]})

    passkey_sweep(model, tok, _ints(args.lengths), _floats(args.depths), modes, cfg, samples=args.samples,
                  seed=args.seed, full_max_length=args.full_max_length, on_record=save)
    summary = summarize(recs)
    print()
    print(format_table(summary))
    if args.json:
        print(f"\nwrote {args.json}")
    if args.plot:
        plot(args.plot, recs)
        print(f"wrote {args.plot}")
    return 0


EXTRA_COMMAND_MODULES = ("cli_grammar", "cli_eval", "cli_diffusion")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="memgram", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="pass key far beyond the trained context with block memory, vs full attention")
    d.add_argument("--length", type=int, default=16384)
    d.add_argument("--full-length", type=int, default=4096)
    d.add_argument("--depth", type=float, default=0.4)
    d.add_argument("--seed", type=int, default=0)
    _add_memory_args(d)
    d.set_defaults(fn=cmd_demo)
    k = sub.add_parser("passkey", help="pass-key retrieval sweep over lengths x depths x modes")
    k.add_argument("--lengths", default="4096,16384,32768")
    k.add_argument("--depths", default="0.1,0.3,0.5,0.7,0.9")
    k.add_argument("--mode", default="block", help="comma-separated: block,full,window")
    k.add_argument("--samples", type=int, default=1)
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--full-max-length", type=int, default=None, help="skip full attention above this length")
    k.add_argument("--json", default=None)
    k.add_argument("--plot", default=None)
    k.add_argument("--malloc-mmap-threshold", type=int, default=None, metavar="KiB",
                   help="memory measurement: fix glibc's mmap/trim threshold (e.g. 1024) so freed buffers leave the "
                        "peak RSS; slower, take timings without it (see longctx.fix_malloc_mmap_threshold)")
    _add_memory_args(k)
    k.set_defaults(fn=cmd_passkey)
    # Subcommands of the other features live beside this module: each exposes add_commands(subparsers).
    import importlib
    import importlib.util

    for name in EXTRA_COMMAND_MODULES:
        if importlib.util.find_spec(f"{__package__}.{name}") is not None:
            importlib.import_module(f"{__package__}.{name}").add_commands(sub)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())

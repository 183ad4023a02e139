"""Whole-prompt prefill cost: block memory vs full attention (SDPA + DynamicCache) on the embedded model.

    python bench/prefill.py --lengths 2048,4096            # CPU: small lengths
    python bench/prefill.py --lengths 32768,131072 --dtype bfloat16   # GPU (issue: block faster than SDPA at 128K)
    python bench/prefill.py --config DIR ...     # random weights of DIR's config.json (no GGUF needed; same cost)

Prints one line per (mode, length) — seconds, tokens/s, peak memory — and writes JSON (bench/out/prefill.json).
Both modes feed the prompt in the same pieces (``--chunk``) so activations are bounded in both.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from transformers import DynamicCache

import memgram
from memgram.runtime.longctx import peak_rss_mb, reset_peak_rss


def prefill(model, ids, cache, chunk):
    dev = next(model.parameters()).device
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    reset_peak_rss()
    t0 = time.perf_counter()
    with torch.no_grad():
        for a in range(0, ids.shape[1], chunk):
            model(ids[:, a : a + chunk].to(dev), cache=cache, logits_to_keep=1)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else peak_rss_mb()
    return dt, peak


def block_config(spec: str) -> "memgram.BlockMemoryConfig":
    """``"block:exec_chunk=2048:n_local=4096"`` -> BlockMemoryConfig(mode="block", exec_chunk=2048, n_local=4096)."""
    mode, *overrides = spec.split(":")
    kw = {}
    for o in overrides:
        key, sep, val = o.partition("=")
        if not sep:
            raise SystemExit(f"--modes: expected key=value after {mode!r}, got {o!r}")
        kw[key] = None if val == "None" else int(val) if val.lstrip("-").isdigit() else val
    try:
        return memgram.BlockMemoryConfig(mode=mode, **kw).validate()
    except TypeError as e:
        raise SystemExit(f"--modes {spec!r}: {e}")


def make_cache(model, mode: str):
    """``full``: SDPA with a DynamicCache; otherwise a BlockMemoryCache of the ``block_config`` spec."""
    if mode == "full":
        model.set_attn_implementation("sdpa")
        return DynamicCache(config=model.config)
    return memgram.BlockMemoryCache(model, block_config(mode))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", default="2048,4096")
    p.add_argument("--modes", default="block,full",
                   help="comma-separated: full (SDPA + DynamicCache), block, window, each optionally with "
                        "BlockMemoryConfig overrides after colons, e.g. block:exec_chunk=2048:n_local=4096")
    p.add_argument("--chunk", type=int, default=2048)
    p.add_argument("--dtype", default=None, help="float32 (CPU default) / bfloat16 (GPU default)")
    p.add_argument("--json", default="bench/out/prefill.json")
    p.add_argument("--config", default=None,
                   help="a model directory or config.json: time a randomly initialised model of that shape instead of "
                        "the embedded one (same cost; for machines without the weights, e.g. a lent GPU)")
    a = p.parse_args(argv)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = getattr(torch, a.dtype) if a.dtype else (torch.bfloat16 if dev == "cuda" else torch.float32)
    modes = a.modes.split(",")
    for m in modes:  # bad specs fail before the model loads
        if m != "full":
            block_config(m)
    w = max(6, *map(len, modes))
    if a.config:
        from transformers import AutoConfig, AutoModelForCausalLM

        cfg = AutoConfig.from_pretrained(a.config)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(dev).eval()
        vocab = cfg.vocab_size
        print(f"random weights, shape of {a.config} ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params)")
    else:
        model, tok = memgram.load_default_model(dtype=dtype, device=dev)
        vocab = tok.vocab_size
    rows = []
    warmed = set()
    print(f"device {dev} ({torch.cuda.get_device_name() if dev == 'cuda' else os.cpu_count()} "
          f"{'GPU' if dev == 'cuda' else 'CPU cores'}), dtype {dtype}, kernels={os.environ.get('MEMGRAM_KERNELS', 'auto')}")
    print(f"{'mode':<{w}} {'length':>8} {'seconds':>9} {'tok/s':>9} {'peak MB':>9}")
    for L in [int(x) for x in a.lengths.split(",")]:
        ids = torch.randint(100, vocab - 100, (1, L), generator=torch.Generator().manual_seed(L))
        for mode in modes:
            if mode not in warmed:  # first use: CUDA/Triton/SDPA initialisation stays out of the timings
                prefill(model, ids[:, : min(L, 3 * a.chunk + 1024)], make_cache(model, mode), a.chunk)
                warmed.add(mode)
            cache = make_cache(model, mode)
            dt, peak = prefill(model, ids, cache, a.chunk)
            if cache.get_seq_length() != L:  # e.g. a transformers whose forward() ignores the cache keyword
                raise SystemExit(f"{mode}: the cache holds {cache.get_seq_length()} tokens after a {L}-token prefill: "
                                 "the model did not use it (transformers >= 5.24 takes it as `cache=`)")
            rows.append({"mode": mode, "length": L, "seconds": dt, "tokens_per_s": L / dt, "peak_mb": peak,
                         "device": dev, "dtype": str(dtype), "weights": "random" if a.config else "embedded"})
            print(f"{mode:<{w}} {L:>8} {dt:>9.2f} {L / dt:>9.0f} {peak:>9.0f}", flush=True)
            del cache
    for L in sorted({r["length"] for r in rows}):
        by = {r["mode"]: r for r in rows if r["length"] == L}
        for m, r in by.items():
            if m != "full" and "full" in by:
                print(f"length {L}: {m} / full time ratio {r['seconds'] / by['full']['seconds']:.2f}")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(rows, indent=1))
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()

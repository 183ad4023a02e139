"""Whole-prompt prefill cost: block memory vs full attention (SDPA + DynamicCache) on the embedded model.

    python bench/prefill.py --lengths 2048,4096            # CPU: small lengths
    python bench/prefill.py --lengths 32768,131072 --dtype bfloat16   # GPU (issue: block faster than SDPA at 128K)

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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", default="2048,4096")
    p.add_argument("--modes", default="block,full")
    p.add_argument("--chunk", type=int, default=2048)
    p.add_argument("--dtype", default=None, help="float32 (CPU default) / bfloat16 (GPU default)")
    p.add_argument("--json", default="bench/out/prefill.json")
    a = p.parse_args(argv)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = getattr(torch, a.dtype) if a.dtype else (torch.bfloat16 if dev == "cuda" else torch.float32)
    model, tok = memgram.load_default_model(dtype=dtype, device=dev)
    rows = []
    print(f"device {dev} ({torch.cuda.get_device_name() if dev == 'cuda' else os.cpu_count()} "
          f"{'GPU' if dev == 'cuda' else 'CPU cores'}), dtype {dtype}, kernels={os.environ.get('MEMGRAM_KERNELS', 'auto')}")
    print(f"{'mode':<6} {'length':>8} {'seconds':>9} {'tok/s':>9} {'peak MB':>9}")
    for L in [int(x) for x in a.lengths.split(",")]:
        ids = torch.randint(100, tok.vocab_size - 100, (1, L), generator=torch.Generator().manual_seed(L))
        for mode in a.modes.split(","):
            if mode == "full":
                model.set_attn_implementation("sdpa")
                cache = DynamicCache(config=model.config)
            else:
                cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(mode=mode))
            dt, peak = prefill(model, ids, cache, a.chunk)
            rows.append({"mode": mode, "length": L, "seconds": dt, "tokens_per_s": L / dt, "peak_mb": peak,
                         "device": dev, "dtype": str(dtype)})
            print(f"{mode:<6} {L:>8} {dt:>9.2f} {L / dt:>9.0f} {peak:>9.0f}", flush=True)
            del cache
    for L in sorted({r["length"] for r in rows}):
        by = {r["mode"]: r for r in rows if r["length"] == L}
        if "block" in by and "full" in by:
            print(f"length {L}: block / full time ratio {by['block']['seconds'] / by['full']['seconds']:.2f}")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(rows, indent=1))
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()

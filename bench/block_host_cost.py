"""Host (Python/dispatch) cost of one block-memory layer-chunk, measured where the arithmetic is negligible.

    python bench/block_host_cost.py [--tokens 16384] [--profile]

A 1-layer, 64-wide random Llama fed ``--tokens`` tokens in 1024-token pieces through a BlockMemoryCache with
``exec_chunk`` 64 (n_local 256, block 16, top 8): every chunk runs the whole block-memory path (eviction, lookup,
fetch, two attention segments, key mass, merge) on tiny tensors, so the time per layer-chunk is what the path costs
besides arithmetic — on a GPU, the host time each chunk adds (docs/kernels.md). ``MEMGRAM_KERNELS=torch`` for the
CPU paths. ``--profile`` prints the top functions by own time.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import torch
import transformers

import memgram


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=16384)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(hidden_size=64, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                                   num_key_value_heads=2, vocab_size=97, max_position_embeddings=1 << 20)
    model = transformers.LlamaForCausalLM(cfg).eval()
    bc = memgram.BlockMemoryConfig(n_init=16, n_local=256, block_size=16, topk=8, repr_topk=4, exec_chunk=64)
    ids = torch.randint(1, 97, (1, a.tokens))

    def run():
        cache = memgram.BlockMemoryCache(model, bc)
        with torch.no_grad():
            for s in range(0, ids.shape[1], 1024):
                model(ids[:, s : s + 1024], cache=cache, logits_to_keep=1)

    run()  # warm-up
    t = time.perf_counter()
    run()
    dt = time.perf_counter() - t
    print(f"{a.tokens} tokens in {dt:.3f} s: {dt / (a.tokens // bc.exec_chunk) * 1e6:.0f} us per layer-chunk "
          f"(exec_chunk {bc.exec_chunk}, MEMGRAM_KERNELS={os.environ.get('MEMGRAM_KERNELS', 'auto')})")
    if a.profile:
        cProfile.runctx("run()", globals(), {"run": run}, "/tmp/block_host_cost.prof")
        pstats.Stats("/tmp/block_host_cost.prof").sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()

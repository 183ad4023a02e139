"""Tile-size sweep of the attention and key-mass Triton kernels on a CUDA GPU (chooses ``attn_config``/``mass_config``).

    python bench/kernels_tune.py --out bench/out/kernels_tune.json

For each shape — the kernel benchmark's (32 query / 8 KV heads, head dim 128; InfLLM's GPU settings) and the embedded
model's (9 / 3 heads, head dim 64; memgram's defaults) — and each candidate configuration (BLOCK_M, BLOCK_N,
num_warps, num_stages), times one block-memory chunk's two attention segments (global: sinks + retrieved units, no
mask; local: window + chunk, causal by positions) and the local segment's key mass with ``triton.testing.do_bench``
(median), after checking the outputs against the torch reference. SDPA over the same number of keys is the yardstick.
Prints, per shape, the table sorted by time and the best configuration; JSON has every row.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
try:
    import memgram.kernels  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT.parent))
from memgram.kernels.attention import triton_impl as A  # noqa: E402
from memgram.kernels.attention.naive import key_mass_ref, segment_attention_ref  # noqa: E402

SHAPES = {  # name: (H, Hkv, D, chunk, n_init, n_local, block, topk)
    "bench-h32-d128": (32, 8, 128, 512, 128, 4096, 128, 16),
    "smollm2-h9-d64": (9, 3, 64, 512, 64, 2048, 64, 16),
}
ATTN = [dict(BLOCK_M=m, BLOCK_N=n, num_warps=w, num_stages=s)
        for (m, n), (w, s) in itertools.product([(64, 32), (64, 64), (128, 64), (128, 128)], [(4, 2), (8, 2), (8, 3)])]
MASS = [dict(BLOCK_M=m, BLOCK_N=n, num_warps=w, num_stages=s)
        for (m, n), (w, s) in itertools.product([(32, 64), (64, 64), (64, 128), (128, 64)], [(4, 2), (8, 2), (8, 3)])]


def main(argv=None):
    import triton
    from triton.testing import do_bench

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "kernels_tune.json"))
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--device", default="cuda", help="cpu: a smoke test of this script under TRITON_INTERPRET=1")
    args = ap.parse_args(argv)
    dev, dtype = args.device, getattr(torch, args.dtype)
    if dev == "cpu":  # smoke test: tiny shapes, one timing
        import time

        SHAPES.update({k: (v[0], v[1], v[2], 32, 4, 64, 16, 2) for k, v in SHAPES.items()})

        def do_bench(fn, return_mode="median"):
            t = time.perf_counter()
            fn()
            return (time.perf_counter() - t) * 1e3
    attn_default, mass_default = A.attn_config, A.mass_config
    rows = []
    for name, (H, Hkv, D, chunk, n_init, n_local, block, topk) in SHAPES.items():
        torch.manual_seed(0)
        n_glob, n_loc = n_init + topk * block, n_local + chunk
        q = torch.randn(1, H, chunk, D, device=dev, dtype=dtype)
        kg, vg = (torch.randn(1, Hkv, n_glob, D, device=dev, dtype=dtype) for _ in range(2))
        kl, vl = (torch.randn(1, Hkv, n_loc, D, device=dev, dtype=dtype) for _ in range(2))
        qp, kp = torch.arange(n_loc - chunk, n_loc, device=dev), torch.arange(n_loc, device=dev)
        scale = D ** -0.5
        ref_g = segment_attention_ref(q, kg, vg, scale)
        ref_l = segment_attention_ref(q, kl, vl, scale, q_pos=qp, k_pos=kp)
        lse = ref_l[1]
        ref_m = key_mass_ref(q, kl, scale, lse, q_pos=qp, k_pos=kp)
        ks = torch.randn(1, Hkv, n_glob + n_loc, D, device=dev, dtype=dtype)
        sdpa_ms = do_bench(lambda: F.scaled_dot_product_attention(q, ks, ks, enable_gqa=True), return_mode="median")
        flops = 4 * H * chunk * (n_glob + n_loc) * D
        print(f"\n{name}: q={chunk} keys={n_glob}+{n_loc}, SDPA {sdpa_ms * 1e3:.1f} us "
              f"({flops / sdpa_ms / 1e9:.0f} TFLOP/s)", flush=True)
        rows.append({"shape": name, "op": "sdpa", "ms": sdpa_ms})
        for op, cands in (("attention", ATTN), ("key_mass", MASS)):
            res = []
            for c in cands:
                bd = max(16, triton.next_power_of_2(D))
                cfg = dict(c, BLOCK_D=bd, BLOCK_DV=bd) if op == "attention" else dict(c, BLOCK_D=bd)
                try:
                    if op == "attention":
                        A.attn_config = lambda *a, cfg=cfg, **k: cfg
                        og = A.segment_attention_triton(q, kg, vg, scale)
                        ol = A.segment_attention_triton(q, kl, vl, scale, q_pos=qp, k_pos=kp)
                        err = max((og[0] - ref_g[0]).abs().max().item(), (ol[0] - ref_l[0]).abs().max().item())

                        def fn():
                            A.segment_attention_triton(q, kg, vg, scale)
                            A.segment_attention_triton(q, kl, vl, scale, q_pos=qp, k_pos=kp)
                    else:
                        A.mass_config = lambda *a, cfg=cfg, **k: cfg
                        m = A.key_mass_triton(q, kl, scale, lse, q_pos=qp, k_pos=kp)
                        err = ((m - ref_m).abs() / ref_m.abs().clamp_min(1e-3)).max().item()

                        def fn():
                            A.key_mass_triton(q, kl, scale, lse, q_pos=qp, k_pos=kp)
                    ms = do_bench(fn, return_mode="median")
                    r = {"shape": name, "op": op, **c, "ms": ms, "max_err": err, "over_sdpa": ms / sdpa_ms}
                except Exception as e:  # a configuration that does not compile (shared memory, registers)
                    r = {"shape": name, "op": op, **c, "ms": None, "error": f"{type(e).__name__}: {str(e)[:120]}"}
                finally:
                    A.attn_config, A.mass_config = attn_default, mass_default
                res.append(r)
                rows.append(r)
            ok = sorted((r for r in res if r["ms"] is not None), key=lambda r: r["ms"])
            for r in ok:
                print(f"  {op:9s} M={r['BLOCK_M']:<3} N={r['BLOCK_N']:<3} w={r['num_warps']} s={r['num_stages']}  "
                      f"{r['ms'] * 1e3:8.1f} us  x{r['over_sdpa']:.2f} SDPA  err {r['max_err']:.1e}", flush=True)
            for r in res:
                if r["ms"] is None:
                    print(f"  {op:9s} {r}  FAILED")
            dflt = attn_default(D, D) if op == "attention" else mass_default(D)
            print(f"  current default: {dflt}; best: {ok[0] if ok else None}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"device": torch.cuda.get_device_name() if dev == "cuda" else dev, "dtype": args.dtype, "rows": rows},
                                         indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

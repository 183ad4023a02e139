"""Benchmark of the block-memory kernels: dispatch path vs torch reference vs SDPA, in one process, same inputs.

    python bench/kernels.py                 # CUDA if available, else the CPU comparison (< 2 min on 2 cores)
    python bench/kernels.py --device cpu    # force the CPU comparison
    python bench/kernels.py --out bench/out/kernels.json
    python bench/kernels.py --threads 1 --out bench/out/kernels_1thread.json

Ops and sizes (heads 32 query / 8 KV, head dim 128, a chunk of 512 queries):

- ``lookup``: ``unit_topk`` over 1K / 16K / 64K units (representatives fp32 ``[N, 8, 128]``, as block memory stores
  them), k = 16. Issue 6 target on a GPU: Triton >= 5x faster than the reference at 64K.
- ``attention``: the two segments of one block-memory chunk — global (sinks + k retrieved units, no mask) and local
  (window + the chunk, causal by positions) — each through ``segment_attention``, then ``merge_attention``. SDPA
  runs the same queries over the same total number of keys (one segment, no mask, GQA). Target on a GPU: within
  1.5x of SDPA.
- ``key_mass``: per-key attention mass of the local segment (a second pass; see kernels/attention/triton_impl.py).
- ``gather``: k units from the slot cache into one ``[Hkv, k*block, D]`` buffer, keys and values.

On a GPU the "path" column is the Triton kernel (``MEMGRAM_KERNELS=auto``); on CPU it is the CPU path the dispatcher
picks there, and the check is that it is never slower than the reference ("ok" column). Each line:
``op size | path ms | reference ms | SDPA ms | ref/path | path/SDPA``. JSON rows carry the same numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
try:
    from memgram import kernels as K
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT.parent))
    from memgram import kernels as K  # noqa: E402
from memgram.kernels.attention.naive import key_mass_ref, merge_attention, segment_attention_ref  # noqa: E402
from memgram.kernels.gather.naive import gather_units_ref  # noqa: E402
from memgram.kernels.lookup.naive import unit_topk_ref  # noqa: E402


def timeit(fn, device, budget_s):
    """Median milliseconds per call (GPU: CUDA events after warm-up; CPU: wall clock), within a time budget."""
    fn()  # warm-up (and Triton compilation)
    if device.type == "cuda":
        torch.cuda.synchronize()
        times = []
        t_end = time.perf_counter() + budget_s
        while len(times) < 5 or (time.perf_counter() < t_end and len(times) < 200):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        return statistics.median(times)
    times = []
    t_end = time.perf_counter() + budget_s
    while not times or (time.perf_counter() < t_end and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def sdpa(q, k_len, d, dtype, device):
    """SDPA of the same queries over ``k_len`` keys (GQA through enable_gqa where this torch has it)."""
    B, H, Lq, D = q.shape
    k = torch.randn(B, 8, k_len, D, device=device, dtype=dtype)
    v = torch.randn_like(k)
    try:
        F.scaled_dot_product_attention(q[:, :, :1], k[:, :, :1], v[:, :, :1], enable_gqa=True)
        return lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    except TypeError:  # older torch: repeat K/V (costs memory, measured as SDPA would be used)
        kr, vr = k.repeat_interleave(H // 8, 1), v.repeat_interleave(H // 8, 1)
        return lambda: F.scaled_dot_product_attention(q, kr, vr)


def run(device: torch.device, out_path: Path, budget_s: float):
    gpu = device.type == "cuda"
    torch.manual_seed(0)
    dtype = torch.bfloat16 if gpu else torch.float32
    H, Hkv, D, chunk = 32, 8, 128, 512
    # InfLLM's defaults on a GPU; memgram's default (SmolLM2 settings) scaled to these heads on CPU.
    n_init, n_local, block, topk = (128, 4096, 128, 16) if gpu else (64, 2048, 64, 16)
    rows = []
    path_name = "triton" if gpu else "cpu-path"
    os.environ["MEMGRAM_KERNELS"] = "auto"

    def report(op, size, t_path, t_ref, t_sdpa=None, extra=None):
        r = {"op": op, "size": size, "device": str(device), "dtype": str(dtype).replace("torch.", ""),
             "path": path_name, "path_ms": round(t_path, 4), "ref_ms": round(t_ref, 4),
             "sdpa_ms": None if t_sdpa is None else round(t_sdpa, 4),
             "ref_over_path": round(t_ref / t_path, 2),
             "path_over_sdpa": None if t_sdpa is None else round(t_path / t_sdpa, 2),
             "never_slower_than_ref": t_path <= t_ref * 1.05}
        r.update(extra or {})
        rows.append(r)
        s = f"{op:10s} {size:28s} {path_name} {t_path:9.3f} ms | ref {t_ref:9.3f} ms"
        s += f" | sdpa {t_sdpa:8.3f} ms" if t_sdpa is not None else " | sdpa        - "
        s += f" | ref/path {t_ref / t_path:6.2f}x"
        s += f" | path/sdpa {t_path / t_sdpa:5.2f}x" if t_sdpa is not None else ""
        s += "" if r["never_slower_than_ref"] else "  << slower than reference"
        print(s, flush=True)

    # ---- lookup
    for n in (1024, 16384, 65536):
        reprs = torch.randn(n, Hkv, D, device=device, dtype=torch.float32)
        qsum = torch.randn(Hkv, D, device=device)
        same = K.unit_topk(qsum, reprs, topk).tolist() == unit_topk_ref(qsum, reprs, topk).tolist()
        t_p = timeit(lambda: K.unit_topk(qsum, reprs, topk), device, budget_s)
        t_r = timeit(lambda: unit_topk_ref(qsum, reprs, topk), device, budget_s)
        report("lookup", f"units={n} k={topk}", t_p, t_r, extra={"same_indices": same})
        del reprs

    # ---- attention: one block-memory chunk = global segment + local segment, merged
    n_glob = n_init + topk * block
    n_loc = n_local + chunk
    q = torch.randn(1, H, chunk, D, device=device, dtype=dtype)
    kg, vg = (torch.randn(1, Hkv, n_glob, D, device=device, dtype=dtype) for _ in range(2))
    kl, vl = (torch.randn(1, Hkv, n_loc, D, device=device, dtype=dtype) for _ in range(2))
    qp = torch.arange(n_loc - chunk, n_loc, device=device)
    kp = torch.arange(n_loc, device=device)
    scale = D ** -0.5

    def chunk_path():
        return K.merge_attention([K.segment_attention(q, kg, vg, scale),
                                  K.segment_attention(q, kl, vl, scale, q_pos=qp, k_pos=kp)])

    def chunk_ref():
        return merge_attention([segment_attention_ref(q, kg, vg, scale),
                                segment_attention_ref(q, kl, vl, scale, q_pos=qp, k_pos=kp)])

    err = (chunk_path()[0] - chunk_ref()[0]).abs().max().item()
    t_s = timeit(sdpa(q, n_glob + n_loc, D, dtype, device), device, budget_s)
    t_p = timeit(chunk_path, device, budget_s)
    t_r = timeit(chunk_ref, device, budget_s)
    size = f"q={chunk} keys={n_glob}+{n_loc}"
    report("attention", size, t_p, t_r, t_s, extra={"max_abs_err": err, "keys": n_glob + n_loc})

    # ---- key mass of the local segment under the final lse
    lse = chunk_ref()[1]
    t_p = timeit(lambda: K.key_mass(q, kl, scale, lse, q_pos=qp, k_pos=kp), device, budget_s)
    t_r = timeit(lambda: key_mass_ref(q, kl, scale, lse, q_pos=qp, k_pos=kp), device, budget_s)
    report("key_mass", f"q={chunk} keys={n_loc}", t_p, t_r)
    del kl, vl, kg, vg

    # ---- gather
    slots_n = 2 * topk
    kst = torch.randn(slots_n, Hkv, block, D, device=device, dtype=dtype)
    vst = torch.randn_like(kst)
    slot_of = torch.randperm(slots_n, device=device)
    idx = torch.randperm(slots_n, device=device)[:topk]
    t_p = timeit(lambda: K.gather_units((kst, vst), slot_of, idx), device, budget_s)
    t_r = timeit(lambda: gather_units_ref((kst, vst), slot_of, idx), device, budget_s)
    report("gather", f"k={topk} block={block}", t_p, t_r)

    meta = {"device": str(device), "gpu_name": torch.cuda.get_device_name(device) if gpu else None,
            "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "heads": H, "kv_heads": Hkv, "head_dim": D, "chunk": chunk,
            "n_init": n_init, "n_local": n_local, "block": block, "topk": topk, "dtype": str(dtype)}
    note = ("GPU rows: Triton kernels vs the torch reference vs SDPA on the same GPU." if gpu else
            "CPU run: the dispatch's CPU path vs the torch reference (SDPA = torch's CPU flash attention over the "
            "same key count). The issue's GPU targets (lookup >= 5x at 64K units, attention within 1.5x of SDPA) "
            "need CUDA: rerun this script on a GPU machine.")
    print(note)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"meta": meta, "note": note, "rows": rows}, indent=1))
    print(f"wrote {out_path}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "kernels.json"))
    ap.add_argument("--budget", type=float, default=None, help="seconds of timing per measurement")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (on an oversubscribed machine every parallel region waits ~a scheduler "
                         "tick for its second thread; --threads 1 shows the per-op cost without that)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    budget = args.budget if args.budget is not None else (0.5 if device.type == "cuda" else 1.5)
    run(device, Path(args.out), budget)


if __name__ == "__main__":
    main()

"""Ahead-of-time compile of every memgram Triton kernel for NVIDIA targets — no GPU needed.

    TRITON_INTERPRET=0 python bench/kernels_compile.py            # sm_80 and sm_90, the dispatch's configurations
    python bench/kernels_compile.py --arch 90 --json bench/out/kernels_compile.json

Catches what the interpreter cannot (Triton front-end errors in compiled mode, unsupported ops, dot shape
constraints) and prints the registers, spill stack and shared memory of each kernel as ptxas allocated them
(``cuobjdump --dump-resource-usage`` on the cubin; both tools ship inside the triton wheel). Configurations come
from the same functions the wrappers use (``attn_config``, ``mass_config``, ``lookup_config``), so what compiles
here is what a GPU will run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TRITON_INTERPRET"] = "0"  # compile, do not interpret (must precede the kernel imports)
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
try:
    import memgram.kernels  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT.parent))
from memgram.kernels.attention import triton_impl as A  # noqa: E402
from memgram.kernels.gather import triton_impl as Gt  # noqa: E402
from memgram.kernels.lookup import triton_impl as L  # noqa: E402

CUOBJDUMP = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
LAUNCH = ("num_warps", "num_stages")


def compile_one(fn, ptr_types: dict, const: dict, float_args=(), arch=90):
    """Compile ``fn`` for ``sm_<arch>``; returns (registers, spill stack bytes, shared bytes, seconds)."""
    options = {k: const[k] for k in LAUNCH if k in const}
    consts = {k: v for k, v in const.items() if k not in LAUNCH}
    sig = {}
    for n in fn.arg_names:
        if n in ptr_types:
            sig[n] = ptr_types[n]
        elif n in consts:
            sig[n] = "constexpr"
        elif n in float_args:
            sig[n] = "fp32"
        else:
            sig[n] = "i32"
    t = time.perf_counter()
    k = triton.compile(ASTSource(fn, sig, consts), target=GPUTarget("cuda", arch, 32), options=options)
    dt = time.perf_counter() - t
    regs = stack = None
    if CUOBJDUMP.exists():
        with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
            f.write(k.asm["cubin"])
            f.flush()
            out = subprocess.run([str(CUOBJDUMP), "--dump-resource-usage", f.name], capture_output=True, text=True).stdout
        m = re.search(r"REG:(\d+) STACK:(\d+)", out)
        if m:
            regs, stack = int(m[1]), int(m[2])
    return regs, stack, k.metadata.shared, dt


def cases(quick: bool):
    """(name, kernel, pointer types, constexprs + launch options, float args)."""
    out = []
    dts = ["bf16"] if quick else ["bf16", "fp16", "fp32"]
    for dt in dts:
        for D in ([128] if quick else [64, 128]):
            ptr = {"Q": f"*{dt}", "K": f"*{dt}", "V": f"*{dt}", "O": "*fp32", "LSE": "*fp32", "QPOS": "*i32",
                   "KPOS": "*i32", "KMASK": "*i8"}
            flags = dict(DOT_F32=False, IEEE=dt == "fp32")
            out.append((f"segment_attention {dt} D={D} local(causal)", A._seg_attn_fwd, ptr,
                        dict(HAS_POS=True, HAS_WINDOW=False, HAS_KMASK=False, **flags, **A.attn_config(D, D, dt == "fp32")),
                        ("qk_scale",)))
            if not quick:
                out.append((f"segment_attention {dt} D={D} global(key_mask)", A._seg_attn_fwd, ptr,
                            dict(HAS_POS=False, HAS_WINDOW=False, HAS_KMASK=True, **flags, **A.attn_config(D, D, dt == "fp32")),
                            ("qk_scale",)))
            mptr = {"Q": f"*{dt}", "K": f"*{dt}", "LSE": "*fp32", "MASS": "*fp32", "QPOS": "*i32", "KPOS": "*i32",
                    "KMASK": "*i8", "QMASK": "*i8"}
            out.append((f"key_mass {dt} D={D}", A._key_mass_kernel, mptr,
                        dict(HAS_POS=True, HAS_WINDOW=False, HAS_KMASK=False, HAS_QMASK=False, **flags,
                             **A.mass_config(D, dt == "fp32")), ("qk_scale",)))
    for n in ([65536] if quick else [1024, 16384, 65536]):
        for dt in (["fp32"] if quick else ["fp32", "bf16"]):
            out.append((f"unit_topk tiles {dt} units={n}", L._unit_topk_tile,
                        {"QSUM": "*fp32", "REPRS": f"*{dt}", "CAND_S": "*fp32", "CAND_I": "*i64"},
                        L.lookup_config(n, 16, 8 * 128), ()))
        cfg = L.lookup_config(n, 16, 8 * 128)
        m = triton.cdiv(n, cfg["BLOCK_N"]) * 16
        out.append((f"unit_topk select units={n} (m={m})", L._select_topk,
                    {"CAND_S": "*fp32", "CAND_I": "*i64", "OUT": "*i64"}, L.select_config(m), ()))
    out.append(("gather_units bf16 block=128 D=128", Gt._gather_kernel,
                {"STORE": "*bf16", "SLOTS": "*i64", "IDX": "*i64", "OUT": "*bf16"},
                dict(HAS_SLOTS=True, **Gt.gather_config(128, 128)), ()))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", type=int, nargs="*", default=[80, 90])
    ap.add_argument("--quick", action="store_true", help="one configuration per kernel")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows, bad = [], 0
    for arch in args.arch:
        for name, fn, ptr, const, floats in cases(args.quick):
            try:
                regs, stack, shared, dt = compile_one(fn, ptr, const, floats, arch)
                row = dict(arch=f"sm_{arch}", kernel=name, regs=regs, spill_stack=stack, shared=shared,
                           compile_s=round(dt, 2), config={k: v for k, v in const.items()})
                print(f"sm_{arch} {name:45s} regs {regs} stack {stack} shared {shared} ({dt:.1f}s)", flush=True)
            except Exception as e:  # report every failure, then exit non-zero
                bad += 1
                row = dict(arch=f"sm_{arch}", kernel=name, error=f"{type(e).__name__}: {e}"[:2000])
                print(f"sm_{arch} {name:45s} FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
            rows.append(row)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
        print(f"wrote {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

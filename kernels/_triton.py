"""Shared helpers for the Triton paths: availability, interpreter detection, device guard.

``triton.jit`` decides at decoration time whether a kernel is compiled or interpreted (``TRITON_INTERPRET=1``),
so the kernel modules (``*/triton_impl.py``) are imported lazily, on the first Triton call, never by
``import memgram``. Tests set ``TRITON_INTERPRET=1`` before that first call (tests/kernels/conftest.py).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os

import torch

HAS_TRITON = importlib.util.find_spec("triton") is not None


def interpreting() -> bool:
    """True when Triton kernels run under the CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def kernel_mode() -> str:
    """``MEMGRAM_KERNELS``: ``auto`` (default; Triton for CUDA tensors), ``triton`` (always) or ``torch`` (never)."""
    mode = os.environ.get("MEMGRAM_KERNELS", "auto").strip().lower() or "auto"
    if mode not in ("auto", "triton", "torch"):
        raise ValueError(f"MEMGRAM_KERNELS={mode!r}: expected 'auto', 'triton' or 'torch'")
    return mode


def use_triton(t: torch.Tensor) -> bool:
    """The dispatch rule shared by every op (see kernels/__init__.py)."""
    mode = kernel_mode()
    if mode == "torch":
        return False
    if mode == "triton":
        if not HAS_TRITON:
            raise RuntimeError("MEMGRAM_KERNELS=triton but triton is not installed (pip install 'memgram[triton]')")
        if not t.is_cuda and not interpreting():
            raise RuntimeError(
                "MEMGRAM_KERNELS=triton with CPU tensors needs the Triton interpreter: set TRITON_INTERPRET=1 "
                "before the first kernel call (tests/kernels/conftest.py does this)")
        return True
    return HAS_TRITON and t.is_cuda


def device_guard(t: torch.Tensor):
    """Make ``t``'s GPU the current one while launching: Triton launches on the *current* CUDA device, so a layer
    placed on ``cuda:1`` by ``device_map="auto"`` would otherwise be launched on ``cuda:0``."""
    if t.is_cuda:
        return torch.cuda.device(t.device)
    return contextlib.nullcontext()


def check_same_device(*tensors) -> torch.device:
    """All given tensors (``None`` skipped) must live on one device; returns it. A clear error instead of an illegal
    memory access when memory units were left on another layer's GPU."""
    dev = None
    for t in tensors:
        if t is None:
            continue
        if dev is None:
            dev = t.device
        elif t.device != dev:
            raise ValueError(f"kernel inputs on different devices: {dev} and {t.device}; keep each layer's units, "
                             f"cache and positions on that layer's device (see kernels.placement)")
    return dev


def next_pow2(n: int) -> int:
    n = max(int(n), 1)
    return 1 << (n - 1).bit_length()

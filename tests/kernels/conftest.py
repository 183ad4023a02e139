"""Kernel tests run the Triton kernels on CPU under the Triton interpreter.

``triton.jit`` reads ``TRITON_INTERPRET`` when a kernel is *decorated*, i.e. when ``kernels/*/triton_impl.py`` is
first imported; memgram imports those lazily (first Triton call), so setting the variable here, before any test
runs, is early enough. ``setdefault`` keeps an explicit ``TRITON_INTERPRET=0`` (real GPU runs) intact.
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

try:
    import triton  # noqa: F401,E402
    HAS_TRITON = True
except Exception:  # pragma: no cover - triton is a test dependency
    HAS_TRITON = False

requires_triton = pytest.mark.skipif(not HAS_TRITON, reason="triton not installed")
gpu = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture
def triton_mode(monkeypatch):
    """Force the Triton kernels (interpreted on CPU tensors)."""
    if not HAS_TRITON:
        pytest.skip("triton not installed")
    if os.environ.get("TRITON_INTERPRET", "0") in ("", "0") and not torch.cuda.is_available():
        pytest.skip("TRITON_INTERPRET=0 and no GPU")
    monkeypatch.setenv("MEMGRAM_KERNELS", "triton")
    yield


@pytest.fixture
def torch_mode(monkeypatch):
    monkeypatch.setenv("MEMGRAM_KERNELS", "torch")
    yield

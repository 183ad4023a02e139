"""Kernel tests run the Triton kernels on CPU under the Triton interpreter.

``triton.jit`` reads ``TRITON_INTERPRET`` when a kernel is *decorated*, i.e. when ``kernels/*/triton_impl.py`` is
first imported; memgram imports those lazily (first Triton call), so setting the variable here, before any test
runs, is early enough. On a machine with CUDA the variable is left alone, so test_gpu.py runs the compiled
kernels (the interpreter tests then skip, unless ``TRITON_INTERPRET=1`` is set explicitly); ``setdefault`` keeps
an explicit value either way.
"""
import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# ``make test`` sets MEMGRAM_REQUIRE_TEST_DEPS=1: there a broken triton import, or the interpreter switched off on a
# machine without CUDA (where nothing else would run the kernels), is an error instead of a silent skip
_REQUIRE = os.environ.get("MEMGRAM_REQUIRE_TEST_DEPS") == "1"

try:
    import triton  # noqa: F401,E402
    HAS_TRITON = True
except Exception:  # pragma: no cover - triton is a test dependency
    if _REQUIRE:
        raise
    HAS_TRITON = False

if _REQUIRE and not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
    raise pytest.UsageError("MEMGRAM_REQUIRE_TEST_DEPS=1 without CUDA needs the Triton interpreter "
                            "(TRITON_INTERPRET is set to 0): the kernel tests would all skip")

requires_triton = pytest.mark.skipif(not HAS_TRITON, reason="triton not installed")
gpu = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@pytest.fixture
def set_mode(monkeypatch):
    """``set_mode("triton")`` forces the Triton kernels on the CPU test tensors (interpreter; skips the test when
    triton is missing or the interpreter is off); ``set_mode("torch")`` forces the CPU paths."""
    def _set(mode):
        if mode == "triton":
            if not HAS_TRITON:
                pytest.skip("triton not installed")
            if not _interpreting():
                pytest.skip("Triton interpreter off (TRITON_INTERPRET=0): CPU tensors cannot run the kernels")
        monkeypatch.setenv("MEMGRAM_KERNELS", mode)
    return _set


@pytest.fixture
def triton_mode(set_mode):
    """Force the Triton kernels (interpreted on CPU tensors)."""
    set_mode("triton")
    yield


@pytest.fixture
def torch_mode(monkeypatch):
    monkeypatch.setenv("MEMGRAM_KERNELS", "torch")
    yield

"""Compiled Triton kernels on a real GPU (skipped cleanly without CUDA)."""
import os

import pytest
import torch

from memgram import kernels as K
from memgram.kernels.attention.naive import key_mass_ref, segment_attention_ref
from memgram.kernels.gather.naive import gather_units_ref
from memgram.kernels.lookup.naive import unit_topk_ref

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    # the kernels are compiled or interpreted once per process, when first imported: run these without it
    pytest.mark.skipif(os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"),
                       reason="TRITON_INTERPRET is set: GPU tests need the compiled kernels"),
]
TOL = {torch.float32: 2e-4, torch.float16: 1e-2, torch.bfloat16: 3e-2}


@pytest.fixture(autouse=True)
def _auto(monkeypatch):
    monkeypatch.setenv("MEMGRAM_KERNELS", "auto")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("D", [64, 128])
@pytest.mark.parametrize("H,Hkv", [(32, 8), (9, 3)])
def test_block_memory_segments_on_gpu(dtype, D, H, Hkv):
    torch.manual_seed(0)
    dev = "cuda"
    lq, ng, nl, win = 509, 1100, 2561, 2048
    q = torch.randn(1, H, lq, D, device=dev, dtype=dtype)
    kg, vg = (torch.randn(1, Hkv, ng, D, device=dev, dtype=dtype) for _ in range(2))
    kl, vl = (torch.randn(1, Hkv, nl, D, device=dev, dtype=dtype) for _ in range(2))
    qp, kp = torch.arange(nl - lq, nl, device=dev), torch.arange(nl, device=dev)
    km = torch.rand(1, ng, device=dev) > 0.1
    for (k, v, kw) in [(kg, vg, dict(key_mask=km)), (kl, vl, dict(q_pos=qp, k_pos=kp, window=win))]:
        o, lse = K.segment_attention(q, k, v, D ** -0.5, **kw)
        o_r, lse_r = segment_attention_ref(q, k, v, D ** -0.5, **kw)
        torch.testing.assert_close(o, o_r, atol=TOL[dtype], rtol=TOL[dtype])
        torch.testing.assert_close(lse, lse_r, atol=1e-3, rtol=1e-4)
        m = K.key_mass(q, k, D ** -0.5, lse_r, **kw)
        torch.testing.assert_close(m, key_mass_ref(q, k, D ** -0.5, lse_r, **kw), atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("n", [1000, 16384, 65536])
def test_lookup_on_gpu(n):
    torch.manual_seed(0)
    reprs = torch.randint(-2, 3, (n, 8, 128), device="cuda").half()
    qsum = torch.randint(-2, 3, (8, 128), device="cuda").float()
    assert K.unit_topk(qsum, reprs, 16).tolist() == unit_topk_ref(qsum, reprs, 16).tolist()


def test_gather_on_gpu():
    st = torch.randn(32, 8, 64, 128, device="cuda", dtype=torch.bfloat16)
    slots = torch.randperm(32, device="cuda")
    idx = torch.randint(0, 32, (16,), device="cuda")
    assert torch.equal(K.gather_units(st, slots, idx), gather_units_ref(st, slots, idx))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_kernels_run_on_the_layer_device_not_the_current_one():
    torch.cuda.set_device(0)
    q = torch.randn(1, 4, 33, 64, device="cuda:1", dtype=torch.float16)
    k = torch.randn(1, 2, 70, 64, device="cuda:1", dtype=torch.float16)
    o, lse = K.segment_attention(q, k, k, 0.125)
    assert o.device == q.device
    torch.testing.assert_close(o, segment_attention_ref(q, k, k, 0.125)[0], atol=1e-2, rtol=1e-2)
    reprs = torch.randn(5000, 2, 64, device="cuda:1")
    assert K.unit_topk(torch.randn(2, 64, device="cuda:1"), reprs, 8).device == reprs.device

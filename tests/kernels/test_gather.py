"""Gather of cached units: Triton (interpreted) and CPU path vs the reference (bit-exact copies)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from memgram import kernels as K
from memgram.kernels.gather.naive import gather_units_ref

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=30, **SETTINGS)
@given(st.integers(1, 9), st.integers(1, 3), st.sampled_from([1, 3, 16, 64]), st.sampled_from([64, 128, 40]),
       st.integers(0, 12), st.booleans(), st.sampled_from([torch.float32, torch.float16, torch.bfloat16]),
       st.sampled_from(["triton", "torch"]), st.integers(0, 2 ** 31 - 1))
def test_gather_units_matches_reference(set_mode, S, hkv, blk, D, k, with_slots, dtype, mode, seed):
    set_mode(mode)
    gen = torch.Generator().manual_seed(seed)
    kst = torch.randn(S, hkv, blk, D, generator=gen).to(dtype)
    vst = torch.randn(S, hkv, blk, D, generator=gen).to(dtype)
    n_units = S + 5
    slots = torch.randint(0, S, (n_units,), generator=gen) if with_slots else None
    idx = torch.randint(0, n_units if with_slots else S, (k,), generator=gen)  # repeats allowed
    got_k, got_v = K.gather_units((kst, vst), slots, idx)
    ref_k, ref_v = gather_units_ref((kst, vst), slots, idx)
    assert got_k.shape == (hkv, k * blk, D) and got_k.is_contiguous()
    assert torch.equal(got_k, ref_k) and torch.equal(got_v, ref_v)


@pytest.mark.parametrize("mode", ["triton", "torch"])
def test_gather_units_into_preallocated_buffer(set_mode, mode):
    set_mode(mode)
    st_ = torch.randn(6, 2, 4, 64)
    out = torch.empty(2, 3 * 4, 64)
    res = K.gather_units(st_, torch.tensor([5, 4, 3, 2, 1, 0]), torch.tensor([0, 2, 5]), out=out)
    assert res.data_ptr() == out.data_ptr()
    assert torch.equal(out, gather_units_ref(st_, torch.tensor([5, 4, 3, 2, 1, 0]), torch.tensor([0, 2, 5])))


@pytest.mark.parametrize("mode", ["triton", "torch"])
def test_gather_units_from_a_non_contiguous_store(set_mode, mode):
    set_mode(mode)
    st_ = torch.randn(5, 8, 3, 64).transpose(1, 2)  # [S, Hkv=3, block=8, D] with a head-major-free layout
    idx = torch.tensor([4, 0, 0, 2])
    assert torch.equal(K.gather_units(st_, None, idx), gather_units_ref(st_, None, idx))

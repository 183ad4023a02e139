"""Memory-unit lookup: fused Triton score+top-k (interpreted) and the CPU path vs the torch reference."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from memgram import kernels as K
from memgram.kernels.lookup.naive import unit_scores_ref, unit_topk_ref

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@st.composite
def lookups(draw, integer):
    n = draw(st.sampled_from([0, 1, 2, 5, 16, 255, 256, 257, 1000, 3000]))
    hkv = draw(st.integers(1, 4))
    d = draw(st.sampled_from([16, 64, 128, 24]))
    k = draw(st.sampled_from([0, 1, 4, 16, 17, 64]))
    dtype = draw(st.sampled_from(DTYPES))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1)))
    if integer:  # small integers: exact in every dtype and in any summation order -> many exact ties
        reprs = torch.randint(-1, 2, (n, hkv, d), generator=gen).to(dtype)
        qsum = torch.randint(-1, 2, (hkv, d), generator=gen).float()
    else:
        reprs = torch.randn(n, hkv, d, generator=gen).to(dtype)
        qsum = torch.randn(hkv, d, generator=gen)
    return qsum, reprs, k


@settings(max_examples=30, **SETTINGS)
@given(lookups(integer=True), st.sampled_from(["triton", "torch"]))
def test_unit_topk_exact_with_ties(set_mode, prob, mode):
    """Integer data: scores are exact, so the indices must equal the reference's, ties to the lower index."""
    set_mode(mode)
    qsum, reprs, k = prob
    got = K.unit_topk(qsum, reprs, k)
    ref = unit_topk_ref(qsum, reprs, k)
    assert got.dtype == torch.long
    assert got.tolist() == ref.tolist()


@settings(max_examples=20, **SETTINGS)
@given(lookups(integer=False), st.sampled_from(["triton", "torch"]))
def test_unit_topk_random_scores(set_mode, prob, mode):
    """Float data: summation order may differ from the reference, so compare the chosen units' scores."""
    set_mode(mode)
    qsum, reprs, k = prob
    got = K.unit_topk(qsum, reprs, k)
    ref = unit_topk_ref(qsum, reprs, k)
    assert got.shape == ref.shape and len(set(got.tolist())) == got.numel()
    s = unit_scores_ref(qsum, reprs)
    torch.testing.assert_close(s[got], s[ref], atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("mode", ["triton", "torch"])
def test_unit_topk_all_equal_scores_keeps_index_order(set_mode, mode):
    set_mode(mode)
    reprs = torch.ones(600, 2, 16)
    assert K.unit_topk(torch.ones(2, 16), reprs, 20).tolist() == list(range(20))
    reprs[[599, 300, 7], 0, 0] = 2.0  # three winners spread over tiles, then index order
    assert K.unit_topk(torch.ones(2, 16), reprs, 6).tolist() == [7, 300, 599, 0, 1, 2]


@pytest.mark.parametrize("mode", ["triton", "torch"])
def test_unit_topk_fewer_units_than_k(set_mode, mode):
    set_mode(mode)
    reprs = torch.randn(3, 1, 8)
    q = torch.randn(1, 8)
    assert K.unit_topk(q, reprs, 16).tolist() == unit_topk_ref(q, reprs, 16).tolist()

import pytest
import torch

from memgram.memory.config import BlockMemoryConfig
from memgram.memory.context import representatives
from memgram.memory.units import UnitStore
from memgram.kernels.lookup.naive import unit_topk_ref


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_local=256, exec_chunk=512), "n_local"),
        (dict(topk=0), "topk"),
        (dict(mode="sparse"), "mode"),
        (dict(repr_topk=0), "repr_topk"),
        (dict(block_size=8, repr_topk=9), "repr_topk"),
        (dict(block_size=0), "block_size"),
        (dict(n_init=-1), "n_init"),
        (dict(topk=8, max_cached_blocks=4), "max_cached_blocks"),
        (dict(prefill_chunk=0), "prefill_chunk"),
    ],
)
def test_bad_configs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BlockMemoryConfig(**kwargs).validate()


def test_window_mode_accepts_topk_zero():
    assert BlockMemoryConfig(mode="window", topk=0).validate().mode == "window"


def test_representatives_match_brute_force():
    g = torch.Generator().manual_seed(0)
    keys = torch.randn(5, 3, 16, 8, generator=g)
    mass = torch.rand(5, 3, 16, generator=g)
    mass[0, 0, :] = 1.0  # all tied: earliest tokens win
    got = representatives(keys, mass, 4)
    for m in range(5):
        for h in range(3):
            vals = mass[m, h].tolist()
            order = sorted(range(16), key=lambda j: (-vals[j], j))[:4]
            want = keys[m, h, order].mean(0)
            torch.testing.assert_close(got[m, h], want)
    torch.testing.assert_close(got[0, 0], keys[0, 0, :4].mean(0))


def test_unit_topk_matches_brute_force_and_breaks_ties_by_index():
    g = torch.Generator().manual_seed(1)
    reprs = torch.randn(50, 2, 8, generator=g)
    reprs[10] = reprs[3]  # a tie
    qsum = torch.randn(2, 8, generator=g)
    scores = [float((qsum * reprs[n]).sum()) for n in range(50)]
    want = sorted(range(50), key=lambda n: (-scores[n], n))[:7]
    assert unit_topk_ref(qsum, reprs, 7).tolist() == want
    assert unit_topk_ref(qsum, reprs[:3], 7).tolist() == sorted(range(3), key=lambda n: (-scores[n], n))
    qsum = reprs[3].clone()
    top = unit_topk_ref(qsum, reprs, 2).tolist()
    assert top == [3, 10]


def test_unit_store_lru_accounting():
    st = UnitStore(n_kv_heads=2, block_size=4, head_dim=3, dtype=torch.float32, device="cpu", offload_device="cpu", capacity=3)
    keys = torch.arange(6 * 2 * 4 * 3, dtype=torch.float32).view(6, 2, 4, 3)
    st.add(keys, -keys, torch.zeros(6, 2, 3))
    assert st.n == 6 and st.reprs.shape == (6, 2, 3)
    k, v = st.fetch(torch.tensor([0, 1]))
    assert (st.hits, st.misses) == (0, 2)
    torch.testing.assert_close(k, torch.cat([keys[0], keys[1]], 1))
    torch.testing.assert_close(v, -torch.cat([keys[0], keys[1]], 1))
    st.fetch(torch.tensor([1, 2]))  # 1 hit, 2 miss (free slot)
    assert (st.hits, st.misses) == (1, 3) and st.resident_units == [0, 1, 2]
    st.fetch(torch.tensor([3]))  # evicts LRU = 0
    assert st.resident_units == [1, 2, 3] and st.misses == 4
    st.fetch(torch.tensor([1]))
    st.fetch(torch.tensor([4, 2]))  # evicts 3 (LRU not requested): order was 2,3,1 -> 2 requested, 3 evicted
    assert sorted(st.resident_units) == [1, 2, 4]
    k, _ = st.fetch(torch.tensor([4, 1, 2]))
    torch.testing.assert_close(k, torch.cat([keys[4], keys[1], keys[2]], 1))
    with pytest.raises(ValueError, match="device cache"):
        st.fetch(torch.tensor([0, 1, 2, 3]))
    assert st.nbytes() == 6 * 2 * 2 * 4 * 3 * 4 + 6 * 2 * 3 * 4


def test_unit_store_pages_grow_without_copies():
    st = UnitStore(n_kv_heads=1, block_size=2, head_dim=2, dtype=torch.float32, device="cpu", offload_device="cpu", capacity=4)
    st.page = 3
    keys = torch.arange(10 * 4, dtype=torch.float32).view(10, 1, 2, 2)
    st.add(keys[:4], keys[:4] + 0.5, torch.zeros(4, 1, 2))
    first_page = st._kp[0]
    st.add(keys[4:], keys[4:] + 0.5, torch.zeros(6, 1, 2))
    assert st._kp[0] is first_page and len(st._kp) == 4  # pages are appended, never reallocated
    for u in range(10):  # adds that cross page boundaries put every unit where fetch looks for it
        assert torch.equal(st._unit(u)[0], keys[u]) and torch.equal(st._unit(u)[1], keys[u] + 0.5)
    k, v = st.fetch(torch.tensor([9, 2, 3]))
    torch.testing.assert_close(k, torch.cat([keys[9], keys[2], keys[3]], 1))
    torch.testing.assert_close(v, torch.cat([keys[9], keys[2], keys[3]], 1) + 0.5)


def test_unpinned_cpu_pages_are_large_enough_to_be_mapped_lazily():
    from memgram.memory.units import LAZY_PAGE_BYTES, PAGE_UNITS

    st = UnitStore(n_kv_heads=3, block_size=64, head_dim=64, dtype=torch.float32, device="cpu", offload_device="cpu",
                   capacity=4)
    unit_bytes = 3 * 64 * 64 * 4
    assert st.page * unit_bytes >= LAZY_PAGE_BYTES and (st.page - 1) * unit_bytes < LAZY_PAGE_BYTES
    st.add(torch.ones(2, 3, 64, 64), torch.ones(2, 3, 64, 64), torch.zeros(2, 3, 64))
    assert len(st._kp) == 1 and st.nbytes() == 2 * 2 * unit_bytes + 2 * 3 * 64 * 4  # accounting counts units only
    big = UnitStore(n_kv_heads=8, block_size=256, head_dim=128, dtype=torch.float32, device="cpu", offload_device="cpu",
                    capacity=4)
    assert big.page == PAGE_UNITS  # 1 MiB units: 64 of them already exceed the threshold

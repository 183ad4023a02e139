"""Dispatch rules (MEMGRAM_KERNELS) and per-layer device placement with a mocked two-GPU device map."""
import types

import pytest
import torch

from memgram import kernels as K
from memgram.kernels import _triton
from memgram.kernels.placement import as_device, layer_device, layer_devices, model_layer_devices, to_device


def test_auto_mode_uses_cpu_path_on_cpu(monkeypatch):
    monkeypatch.delenv("MEMGRAM_KERNELS", raising=False)
    assert _triton.use_triton(torch.zeros(1)) is False


def test_torch_mode_never_uses_triton(monkeypatch):
    monkeypatch.setenv("MEMGRAM_KERNELS", "torch")
    assert _triton.use_triton(torch.zeros(1)) is False


def test_unknown_mode_is_an_error(monkeypatch):
    monkeypatch.setenv("MEMGRAM_KERNELS", "cuda-please")
    with pytest.raises(ValueError, match="MEMGRAM_KERNELS"):
        K.unit_topk(torch.zeros(1, 4), torch.zeros(3, 1, 4), 1)


def test_forced_triton_on_cpu_without_interpreter_says_what_to_do(monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setenv("MEMGRAM_KERNELS", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        K.unit_topk(torch.zeros(1, 4), torch.zeros(3, 1, 4), 1)


def test_mixed_devices_raise_before_launch(set_mode):
    set_mode("triton")
    q = torch.zeros(1, 2, 3, 8)
    k = torch.zeros(1, 1, 4, 8, device="meta")
    with pytest.raises(ValueError, match="different devices"):
        K.segment_attention(q, k, k, 0.3)


def test_device_guard_is_a_no_op_on_cpu():
    with _triton.device_guard(torch.zeros(1)):
        pass


TWO_GPU_MAP = {"model.embed_tokens": 0, "model.rotary_emb": 0, **{f"model.layers.{i}": 0 for i in range(3)},
               **{f"model.layers.{i}": 1 for i in range(3, 6)}, "model.norm": 1, "lm_head": 1}


def test_layer_devices_from_a_two_gpu_map():
    devs = layer_devices(TWO_GPU_MAP, 6)
    assert [str(d) for d in devs] == ["cuda:0"] * 3 + ["cuda:1"] * 3


def test_layer_devices_with_coarse_and_fine_maps():
    assert [str(d) for d in layer_devices({"": 0}, 2)] == ["cuda:0", "cuda:0"]
    assert str(layer_device({"model": "cuda:1", "lm_head": 0}, 5)) == "cuda:1"
    fine = {"model.layers.0.self_attn": 1, "model.layers.0.mlp": 0, "model.layers.1": "cpu", "model.layers.2": "disk"}
    assert [str(d) for d in layer_devices(fine, 3)] == ["cuda:1", "cpu", "cpu"]
    # a layers prefix other than "model.layers" (e.g. GPT-2's "transformer.h" is not "layers": prefix argument)
    assert str(layer_device({"transformer.h.0": 0, "transformer.h.1": 1}, 1, prefix="transformer.h")) == "cuda:1"
    with pytest.raises(KeyError):
        layer_device({"lm_head": 0}, 0)


def test_model_layer_devices_reads_hf_device_map():
    model = types.SimpleNamespace(hf_device_map=TWO_GPU_MAP, config=types.SimpleNamespace(num_hidden_layers=6))
    assert [d.index for d in model_layer_devices(model)] == [0, 0, 0, 1, 1, 1]
    plain = torch.nn.Linear(2, 2)
    plain.config = types.SimpleNamespace(num_hidden_layers=2)
    assert model_layer_devices(plain) == [torch.device("cpu")] * 2


def test_per_layer_state_follows_the_layer_device():
    """The placement rule block memory follows: every tensor of layer i on layer i's device (meta stands in for
    the second GPU here) and kernel inputs checked to agree."""
    devs = [torch.device("cpu"), torch.device("meta")]
    state = [to_device((torch.zeros(2, 4), torch.zeros(2, 4)), d) for d in devs]
    for d, (kk, vv) in zip(devs, state):
        assert kk.device == d and vv.device == d
        assert _triton.check_same_device(kk, vv, None) == d
    with pytest.raises(ValueError):
        _triton.check_same_device(state[0][0], state[1][0])
    assert as_device(1) == torch.device("cuda", 1) and as_device("2") == torch.device("cuda", 2)

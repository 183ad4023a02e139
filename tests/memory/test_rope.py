import pytest
import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

from memgram.memory.errors import UnsupportedModelError
from memgram.memory.rope import RopeTable, check_rope_type, invert_rotation

ROPES = {
    "default": {"rope_type": "default", "rope_theta": 10000.0},
    "linear": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0},
    "dynamic": {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0},
    "llama3": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 256},
    "yarn": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 256},
}


def _cfg(params):
    return LlamaConfig(hidden_size=64, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024,
                       rope_parameters=params)


@pytest.mark.parametrize("kind", list(ROPES))
def test_inverse_rotation_is_exact_and_rerotation_matches_model(kind):
    cfg = _cfg(ROPES[kind])
    assert check_rope_type(cfg) == kind
    rot = LlamaRotaryEmbedding(cfg)
    x = torch.randn(1, 2, 7, 32)
    pos = torch.tensor([[0, 1, 5, 100, 511, 900, 1023]])
    cos, sin = rot(x, pos)
    xr, _ = apply_rotary_pos_emb(x, x, cos, sin)
    back = invert_rotation(xr, cos.unsqueeze(1), sin.unsqueeze(1))
    torch.testing.assert_close(back, x, rtol=1e-5, atol=1e-5)
    # re-rotation at small positions through the table equals the model's own rotation there
    table = RopeTable(rot, 32, "cpu", max_position=16)
    small = torch.tensor([0, 3, 15, 40])  # 40 grows the table
    cos2, sin2 = rot(x, small.unsqueeze(0))
    want, _ = apply_rotary_pos_emb(x[:, :, :4], x[:, :, :4], cos2, sin2)
    torch.testing.assert_close(table.rotate(x[:, :, :4], small), want, rtol=1e-5, atol=1e-5)
    if kind == "yarn":
        assert rot.attention_scaling != 1.0  # the scaling factor really is exercised


def test_unsupported_rope_type_raises():
    cfg = _cfg({"rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0] * 16, "long_factor": [1.0] * 16,
                "original_max_position_embeddings": 256})
    with pytest.raises(UnsupportedModelError, match="longrope"):
        check_rope_type(cfg)

"""Multi-segment attention: attention of a query chunk over several K/V segments merged by log-sum-exp."""
from .naive import segment_attention_ref, merge_attention, key_mass_ref  # noqa: F401

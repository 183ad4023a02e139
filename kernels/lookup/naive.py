"""Plain torch reference for memory-unit lookup (InfLLM's retrieval step).

Each memory unit ``n`` has one representative vector per KV head, ``reprs[n, g, :]`` (the mean of the unit's
``repr_topk`` most-attended keys). A chunk of queries is summarised per KV head as ``qsum[g] = sum over the query
heads of group g of the mean query``. The unit's score is ``sum_g qsum[g] . reprs[n, g]`` (no softmax, no 1/sqrt(d)),
and the chunk retrieves the ``k`` highest-scoring units, shared by all heads.
"""
from __future__ import annotations

import torch


def unit_scores_ref(qsum: torch.Tensor, reprs: torch.Tensor) -> torch.Tensor:
    """``qsum [Hkv, D]``, ``reprs [N, Hkv, D]`` -> float32 scores ``[N]``."""
    return torch.einsum("gd,ngd->n", qsum.float(), reprs.float())


def unit_topk_ref(qsum: torch.Tensor, reprs: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``min(k, N)`` best units, best first; ties go to the lower index (deterministic).

    >>> reprs = torch.zeros(5, 1, 2); reprs[3, 0, 0] = 1; reprs[1, 0, 0] = 1
    >>> unit_topk_ref(torch.tensor([[1.0, 0.0]]), reprs, 2).tolist()
    [1, 3]
    """
    n = reprs.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return torch.zeros(0, dtype=torch.long, device=reprs.device)
    s = unit_scores_ref(qsum, reprs)
    # Stable descending sort: equal scores keep index order.
    order = torch.sort(s, descending=True, stable=True).indices
    return order[:k]

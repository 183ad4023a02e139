"""Why does block memory miss a fact? Rank of the fact's memory unit under several unit-scoring rules.

    python bench/lookup_diag.py needle 8192 0.3 [--json bench/out/lookup_diag.json]

Feeds one prompt of the evaluation tasks (runtime/tasks.py) through block memory with the default config plus
``tail_lookup`` (so the last position looks up with its own query), then, per layer, ranks the unit holding the fact
among all units for that last query under: InfLLM's rule (``mean{r}``: dot with the mean of the r keys of highest
attention mass), per-head max over those r keys (``maxh{r}``), max over the r keys of the head sum (``pseudo{r}``),
the best single key of the unit (``maxkey``: an upper reference, as costly as attention over all units) and a
Quest-style channel bound (``quest``). Prints the ranks and how many layers would retrieve the unit (rank < topk).
A diagnostic: it patches LayerContext methods to record the queries and masses it needs.
"""
import argparse
import json
import os
import sys
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from memgram import load_default_model, BlockMemoryConfig, BlockMemoryCache
from memgram.runtime.tasks import build_sample
from memgram.memory import context as C
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("task")
ap.add_argument("length", type=int)
ap.add_argument("depth", type=float)
ap.add_argument("--json")
args = ap.parse_args()
task, L, d = args.task, args.length, args.depth
model, tok = load_default_model(verbose=False)
s = build_sample(task, tok, L, d, seed=0)
ids = s.ids
phrase = s.expected if isinstance(s.expected, str) else str(s.expected)
toks = [tok.decode([i]) for i in ids]
pos = next(j for j in range(len(ids)) if phrase.split()[0] in "".join(toks[j:j+3]) and j < len(ids) - 200)
cfg = BlockMemoryConfig(tail_lookup=True)
u_star = (pos - cfg.n_init) // cfg.block_size
print(task, L, d, "phrase", phrase, "at token", pos, "unit", u_star, flush=True)
stash, masses = {}, {}
orig = C.LayerContext._attend_chunk
def patched(self, q, scale, c0, c1):
    if c1 - c0 == 1:
        stash[id(self)] = q.clone()
    return orig(self, q, scale, c0, c1)
C.LayerContext._attend_chunk = patched
orig_ev = C.LayerContext._evict
def ev(self, e):
    before = self.units.n if self.units is not None else 0
    lo = self.evicted_to
    orig_ev(self, e)
    if self.units is not None and self.units.n > before:
        m = self.units.n - before
        start = self.evicted_to - m * self.cfg.block_size
        sl = self._slice(start, self.evicted_to)
        masses.setdefault(id(self), []).append(self.mass[:, sl].reshape(self.h, m, self.cfg.block_size).transpose(0, 1).clone())
C.LayerContext._evict = ev
cache = BlockMemoryCache(model, cfg)
with torch.no_grad():
    out = model(torch.tensor([ids]), cache=cache)
K = cfg.topk
hits = {}
ranks = []
for li, layer in enumerate(cache.layers):
    ctx = layer.rows[0]
    q = stash[id(ctx)]
    qg = ctx.rope.rotate_at(q, cfg.global_distance)[:, 0].view(ctx.h, ctx.groups, ctx.d)  # [h, g, D]
    qsum = qg.sum(1)  # [h, D]
    N = ctx.units.n
    keys = torch.stack([ctx.units._unit(u)[0] for u in range(N)]).float()   # [N, h, B, D]
    mass = torch.cat(masses[id(ctx)])[:N]                                   # [N, h, B]
    kd = torch.einsum("hd,nhbd->nhb", qsum, keys)                            # per-key scores per head [N, h, B]
    res = {}
    for r in (4, 8, 16):
        order = torch.sort(mass, dim=-1, descending=True, stable=True).indices[..., :r]
        sc_r = torch.gather(kd, 2, order)                                    # [N, h, r]
        res[f"mean{r}"] = sc_r.mean(2).sum(1)
        res[f"maxh{r}"] = sc_r.amax(2).sum(1)
        res[f"pseudo{r}"] = sc_r.sum(1).amax(1)
    res["maxkey"] = kd.amax(2).sum(1)
    # quest-style bound over all keys of the unit
    kmin, kmax = keys.amin(2), keys.amax(2)                                  # [N, h, D]
    res["quest"] = torch.maximum(qsum * kmin, qsum * kmax).sum((1, 2))
    line = []
    ranks.append({name: int((sc > sc[u_star]).sum()) for name, sc in res.items()})
    for name, sc in res.items():
        rk = int((sc > sc[u_star]).sum())
        hits[name] = hits.get(name, 0) + (rk < K)
        line.append(f"{name}:{rk}")
    print(f"layer {li:2d} " + " ".join(line), flush=True)
print("layers with the fact's unit in the top", K, ":", hits)
if args.json:
    with open(args.json, "w") as f:
        json.dump({"task": task, "length": L, "depth": d, "unit": u_star, "topk": K, "ranks_per_layer": ranks,
                   "layers_retrieving": hits}, f, indent=1)

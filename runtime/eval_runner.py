"""One runner for every long-context task: samples x memory modes -> records, a table, JSON and a PNG.

>>> recs = run_eval(model, tok, "needle", modes=["block", "window"], lengths=[4096], depths=[0.1, 0.5, 0.9])  # doctest: +SKIP
>>> print(format_scores_table(summarize_scores(recs)))                                                      # doctest: +SKIP

A record (one JSON object per generated answer) holds: task, mode, length (prompt tokens), target_length, depth,
sample, score (0..1), correct (score == 1), answer, expected, seconds, tokens, new_tokens, tokens_per_s (prompt
tokens per second of the whole call), peak_rss_mb (peak resident memory of the process during the call), unit_mb
(block-memory units held at the end).
"""
from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .longctx import peak_rss_mb, reset_peak_rss
from .tasks import BUILDERS, Sample, build_sample

LOADER_TASKS = ("longbench", "infinitebench")
ALL_TASKS = tuple(BUILDERS) + LOADER_TASKS


def _config_for(config, mode: str):
    from ..memory.config import BlockMemoryConfig

    cfg = config or BlockMemoryConfig()
    return BlockMemoryConfig(**{**cfg.to_dict(), "mode": mode}).validate()


def generate_answer(model, tok, ids: list[int], mode: str, config=None, max_new_tokens: int = 16, logits_processor=None):
    """Greedy answer to a prompt (token ids) through block memory in ``mode``; returns (text, seconds, stats).

    ``logits_processor``: passed on to ``generate()`` (e.g. to record or force the answer's tokens)."""
    from .cache import BlockMemoryCache

    cfg = _config_for(config, mode)
    x = torch.tensor([ids], dtype=torch.long)
    cache = BlockMemoryCache(model, cfg)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(x, cache=cache, max_new_tokens=max_new_tokens, do_sample=False,
                             attention_mask=torch.ones_like(x), pad_token_id=tok.eos_token_id,
                             prefill_chunk_size=cfg.prefill_chunk, logits_processor=logits_processor)
    dt = time.perf_counter() - t0
    new = out[0, x.shape[1]:]
    stats = cache.memory_stats()
    stats["new_tokens"] = int(new.numel())
    return tok.decode(new, skip_special_tokens=True), dt, stats


def _jsonable(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return str(v)


def run_sample(model, tok, sample: Sample, mode: str, config=None, sample_index: int = 0,
               generate=generate_answer) -> dict:
    """Answer one sample in one memory mode and score it; returns a JSON-ready record."""
    reset_peak_rss()
    answer, dt, stats = generate(model, tok, sample.ids, mode, config, sample.max_new_tokens)
    score = sample.score(answer)
    n = len(sample.ids)
    return {"task": sample.task, "mode": mode, "length": n, "target_length": sample.target_length or n,
            "depth": sample.depth, "sample": sample_index, "score": score, "correct": score >= 1.0,
            "answer": answer.strip(), "expected": _jsonable(sample.expected), "seconds": dt, "tokens": n,
            "new_tokens": stats.get("new_tokens", 0), "tokens_per_s": n / dt if dt > 0 else float("nan"),
            "peak_rss_mb": peak_rss_mb(), "unit_mb": stats.get("units", 0) / 2**20,
            **({"meta": sample.meta} if sample.meta else {})}


def iter_samples(task: str, tok, lengths, depths, samples: int = 1, seed: int = 0, data=None, limit=None):
    """(target_length, depth, sample_index, Sample) for a synthetic task, or for a LongBench / InfiniteBench file
    (``data``; each length is a truncation budget; depth is None)."""
    if task in LOADER_TASKS:
        if not data:
            raise ValueError(f"task {task!r} needs a JSONL file (--data)")
        from .loaders import load_infinitebench, load_longbench

        load = load_longbench if task == "longbench" else load_infinitebench
        for L in lengths:
            for i, s in enumerate(load(data, tok, max_length=L, limit=limit)):
                yield L, None, i, s
        return
    for L in lengths:
        for d in depths:
            for s in range(samples):
                yield L, d, s, build_sample(task, tok, L, d, seed=seed + s)


def run_eval(model, tok, task: str, modes=("block",), lengths=(4096,), depths=(0.5,), samples: int = 1, seed: int = 0,
             config=None, full_max_length: int | None = None, data=None, limit=None, progress: bool = True,
             on_record=None, generate=generate_answer) -> list[dict]:
    """Run ``task`` for every (length, depth, sample) and every mode (full attention skipped above
    ``full_max_length``); returns the records. ``on_record(rec)`` is called after each answer (for live output)."""
    if task not in ALL_TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(ALL_TASKS)}")
    jobs = [(L, d, i, s, m) for (L, d, i, s) in iter_samples(task, tok, lengths, depths, samples, seed, data, limit)
            for m in modes if not (m == "full" and full_max_length and L > full_max_length)]
    recs = []
    bar = tqdm(jobs, desc=task, disable=not progress, dynamic_ncols=True)
    for L, d, i, s, mode in bar:
        bar.set_postfix_str(f"{mode} {L} tok" + (f" depth {d:.0%}" if d is not None else f" #{i}"))
        r = run_sample(model, tok, s, mode, config, sample_index=i, generate=generate)
        r["target_length"] = L
        recs.append(r)
        if on_record:
            on_record(r)
    return recs


# ----------------------------------------------------------------------------------------------------- reporting
def summarize_scores(recs: list[dict]) -> dict:
    """{task: {mode: {length: {score, accuracy, n, seconds, s_per_1k_tokens, tokens_per_s, peak_rss_mb, unit_mb}}}}."""
    groups = defaultdict(list)
    for r in recs:
        groups[(r["task"], r["mode"], r["target_length"])].append(r)
    out = {}
    for (task, mode, L), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        n = len(rs)
        out.setdefault(task, {}).setdefault(mode, {})[str(L)] = {
            "score": sum(r["score"] for r in rs) / n,
            "accuracy": sum(bool(r["correct"]) for r in rs) / n,
            "n": n,
            "tokens": sum(r["tokens"] for r in rs) / n,
            "seconds": sum(r["seconds"] for r in rs) / n,
            "s_per_1k_tokens": sum(r["seconds"] / r["tokens"] * 1000 for r in rs) / n,
            "tokens_per_s": sum(r["tokens_per_s"] for r in rs) / n,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "unit_mb": max(r.get("unit_mb", 0.0) for r in rs),
        }
    return out


def format_scores_table(summary: dict) -> str:
    head = (f"{'task':<14} {'mode':<7} {'length':>7} {'score':>6} {'exact':>6} {'n':>3} {'s/prompt':>9} {'s/1K tok':>9} "
            f"{'tok/s':>7} {'peak RSS MB':>11} {'units MB':>9}")
    lines = [head, "-" * len(head)]
    for task, by_mode in summary.items():
        for mode, by_len in by_mode.items():
            for L, s in sorted(by_len.items(), key=lambda kv: int(kv[0])):
                lines.append(f"{task[:14]:<14} {mode:<7} {int(L):>7} {s['score']:>6.0%} {s['accuracy']:>6.0%} {s['n']:>3} "
                             f"{s['seconds']:>9.1f} {s['s_per_1k_tokens']:>9.2f} {s['tokens_per_s']:>7.0f} "
                             f"{s['peak_rss_mb']:>11.0f} {s['unit_mb']:>9.1f}")
    return "\n".join(lines)


def write_records_json(path, recs: list[dict], meta: dict | None = None) -> dict:
    summary = summarize_scores(recs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    score = {t: {m: {L: s["score"] for L, s in bl.items()} for m, bl in bm.items()} for t, bm in summary.items()}
    path.write_text(json.dumps({"meta": meta or {}, "score": score, "summary": summary, "records": recs}, indent=1,
                               default=str))
    return summary


def _len_label(L: int) -> str:
    return f"{L / 1024:.3g}K" if L >= 1024 else str(L)


def score_grid(recs: list[dict], task: str, mode: str):
    """(depths, lengths, grid[depth][length] = mean score or nan) of one task and mode; depth None is one row."""
    rs = [r for r in recs if r["task"] == task and r["mode"] == mode]
    depths = sorted({r["depth"] for r in recs if r["task"] == task}, key=lambda d: -1 if d is None else d)
    lengths = sorted({r["target_length"] for r in recs if r["task"] == task})
    grid = []
    for d in depths:
        row = []
        for L in lengths:
            xs = [r["score"] for r in rs if r["depth"] == d and r["target_length"] == L]
            row.append(sum(xs) / len(xs) if xs else math.nan)
        grid.append(row)
    return depths, lengths, grid


def plot_records(path, recs: list[dict]) -> None:
    """One row per task: a score heatmap (depth x length) per mode, then seconds and peak RSS vs length per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = list(dict.fromkeys(r["task"] for r in recs))
    modes = sorted({r["mode"] for r in recs})
    ncol = len(modes) + 2
    fig, axes = plt.subplots(len(tasks), ncol, figsize=(3.8 * ncol, 3.4 * len(tasks)), squeeze=False)
    summary = summarize_scores(recs)
    for row, task in zip(axes, tasks):
        for ax, mode in zip(row, modes):
            depths, lengths, grid = score_grid(recs, task, mode)
            g = np.array(grid, dtype=float)
            ax.imshow(g, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
            ax.set_xticks(range(len(lengths)), [_len_label(L) for L in lengths])
            ax.set_yticks(range(len(depths)), ["all" if d is None else f"{d:.0%}" for d in depths])
            ax.set_title(f"{task} / {mode}: score", fontsize=9)
            ax.set_xlabel("prompt length (tokens)")
            ax.set_ylabel("depth")
            for i in range(g.shape[0]):
                for j in range(g.shape[1]):
                    ax.text(j, i, "-" if np.isnan(g[i, j]) else f"{g[i, j]:.0%}", ha="center", va="center", fontsize=8)
        for mode, by_len in summary.get(task, {}).items():
            Ls = sorted(int(L) for L in by_len)
            row[-2].plot(Ls, [by_len[str(L)]["seconds"] for L in Ls], marker="o", label=mode)
            row[-1].plot(Ls, [by_len[str(L)]["peak_rss_mb"] for L in Ls], marker="o", label=mode)
        row[-2].set_title(f"{task}: seconds per prompt", fontsize=9)
        row[-1].set_title(f"{task}: peak RSS (MB)", fontsize=9)
        for ax in row[-2:]:
            ax.set_xlabel("prompt length (tokens)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)

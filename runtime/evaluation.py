"""Runner for long-context evaluations: records per (mode, length, depth, sample), a table, JSON and a PNG."""
from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from .longctx import run_passkey  # noqa: F401  (kept importable from here)


def passkey_sweep(model, tok, lengths, depths, modes, config=None, samples: int = 1, seed: int = 0,
                  full_max_length: int | None = None, progress: bool = True, on_record=None) -> list[dict]:
    """Run the pass-key probe for every (mode, length, depth, sample) through the task runner
    (:func:`memgram.runtime.eval_runner.run_eval`, task ``passkey``); returns JSON-ready records, each with ``key``
    (the pass key) next to the runner's fields."""
    from . import eval_runner

    def keep(r):
        r["key"] = r["expected"]
        if on_record:
            on_record(r)

    recs = []
    for mode in modes:
        recs += eval_runner.run_eval(model, tok, "passkey", [mode], lengths, depths, samples=samples, seed=seed,
                                     config=config, full_max_length=full_max_length, progress=progress,
                                     on_record=keep, generate=eval_runner.generate_answer)
    return recs


def summarize(recs: list[dict]) -> dict:
    """Accuracy by mode and length, and mean seconds / tokens per second / peak RSS."""
    groups = defaultdict(list)
    for r in recs:
        groups[(r["mode"], r["target_length"])].append(r)
    out = {}
    for (mode, L), rs in sorted(groups.items()):
        out.setdefault(mode, {})[str(L)] = {
            "accuracy": sum(r["correct"] for r in rs) / len(rs),
            "n": len(rs),
            "seconds": sum(r["seconds"] for r in rs) / len(rs),
            "tokens": sum(r["tokens"] for r in rs) / len(rs),
            "s_per_1k_tokens": sum(r["seconds"] / r["tokens"] * 1000 for r in rs) / len(rs),
            "tokens_per_s": sum(r["tokens_per_s"] for r in rs) / len(rs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "unit_mb": max(r["unit_mb"] for r in rs),
        }
    return out


def format_table(summary: dict) -> str:
    head = f"{'mode':<7} {'length':>7} {'acc':>6} {'n':>3} {'s/prompt':>9} {'s/1K tok':>9} {'tok/s':>7} {'peak RSS MB':>11} {'units MB':>9}"
    lines = [head, "-" * len(head)]
    for mode, by_len in summary.items():
        for L, s in sorted(by_len.items(), key=lambda kv: int(kv[0])):
            lines.append(f"{mode:<7} {int(L):>7} {s['accuracy']:>6.0%} {s['n']:>3} {s['seconds']:>9.1f} "
                         f"{s['s_per_1k_tokens']:>9.2f} {s['tokens_per_s']:>7.0f} {s['peak_rss_mb']:>11.0f} {s['unit_mb']:>9.0f}")
    return "\n".join(lines)


def write_json(path, recs, summary, meta) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    acc = {mode: {L: s["accuracy"] for L, s in by_len.items()} for mode, by_len in summary.items()}
    path.write_text(json.dumps({"meta": meta, "accuracy": acc, "summary": summary, "records": recs}, indent=1))


def plot(path, recs: list[dict]) -> None:
    """Accuracy heatmap (length x depth) per mode, and seconds / peak RSS vs length per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    modes = sorted({r["mode"] for r in recs})
    lengths = sorted({r["target_length"] for r in recs})
    depths = sorted({r["depth"] for r in recs})
    fig, axes = plt.subplots(1, len(modes) + 2, figsize=(4 * (len(modes) + 2), 3.6))
    for ax, mode in zip(axes, modes):
        grid = np.full((len(depths), len(lengths)), np.nan)
        for i, d in enumerate(depths):
            for j, L in enumerate(lengths):
                rs = [r["correct"] for r in recs if r["mode"] == mode and r["depth"] == d and r["target_length"] == L]
                if rs:
                    grid[i, j] = sum(rs) / len(rs)
        ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        ax.set_xticks(range(len(lengths)), [f"{L // 1024}K" if L >= 1024 else str(L) for L in lengths])
        ax.set_yticks(range(len(depths)), [f"{d:.0%}" for d in depths])
        ax.set_title(f"{mode}: accuracy")
        ax.set_xlabel("prompt length")
        ax.set_ylabel("depth")
        for i in range(len(depths)):
            for j in range(len(lengths)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.0%}", ha="center", va="center", fontsize=8)
    s = summarize(recs)
    for mode in modes:
        Ls = sorted(int(L) for L in s[mode])
        axes[-2].plot(Ls, [s[mode][str(L)]["seconds"] for L in Ls], marker="o", label=mode)
        axes[-1].plot(Ls, [s[mode][str(L)]["peak_rss_mb"] for L in Ls], marker="o", label=mode)
    axes[-2].set_title("seconds per prompt")
    axes[-1].set_title("peak RSS (MB)")
    for ax in axes[-2:]:
        ax.set_xlabel("prompt length (tokens)")
        ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Where the cold token masks of memgram's matcher spend their time (issue: mask p50 <= 20 us on first use).

    python bench/mask_cold_diag.py [--n 60]

Follows the valid instance of each schema of bench/mask_latency.py (same seed, same schemas) with a freshly compiled
grammar, as its "cold" mask column does, and classifies every trie walk that was not cached yet: root walks (the
lexeme in progress at the start of the token) vs walks below an event (a lexeme ending inside the token); starting
configuration fresh (between lexemes) vs inside a lexeme; and whether the same walk base was seen before with
another acceptable-terminal set ("other akey") or is new. Prints count, median and total time per class.

Measured 2026-11-28 (60 schemas, 1,376 mask calls, two runs): 78 % of cold calls walk (median 2 walks, ~40 us
each); root walks from inside a lexeme are 904 of 2,291 walks but 97-99 % of the walk time (0.45-2.2 s: a few take
tens of ms), 679 of them from a configuration never walked before: length-bounded strings, formats and bounded
numbers have one configuration per position, and each new one is walked once. A sound normalisation of the cache
key (acceptable set intersected with what the lexeme can still become) was tried and changed nothing: the new walks
come from new configurations, not new acceptable sets.
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    import mask_latency as ML

    import memgram.grammar.matcher as MM

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--max-steps", type=int, default=64)
    a = ap.parse_args(argv)
    tok = ML.default_tokenizer()
    cases = ML.build_cases(a.n, 0)
    eng = ML.MemgramEngine(tok)
    stat, times, active = collections.Counter(), collections.defaultdict(list), [False]
    orig = MM.GrammarIndex.piece

    def piece(self, key, starts, start_cfg, akey, trie=None):
        if key in self._pieces or not active[0]:
            return orig(self, key, starts, start_cfg, akey, trie)
        base = key[:-1] if key[0] == "r" else key[0]
        seen = self.__dict__.setdefault("_diag_bases", set())
        kind = ("root" if key[0] == "r" else "event") + ("-fresh" if self.fresh[start_cfg] else "-inside")
        kind += "/other-akey" if base in seen else "/new"
        seen.add(base)
        t0 = time.perf_counter()
        r = orig(self, key, starts, start_cfg, akey, trie)
        stat[kind] += 1
        times[kind].append((time.perf_counter() - t0) * 1e6)
        return r

    MM.GrammarIndex.piece = piece
    MM.GrammarIndex.FAST = 0    # every walk through piece (masks composed by _compose call it only for per-set roots)
    for w in ({"type": "integer"}, {"type": "object", "properties": {"a": {"type": "string"}}}):
        eng.mask(eng.matcher(eng.compile(w)))
    calls = walking = 0
    for c in cases:
        if c["valid"] is None:
            continue
        m = eng.compile(c["schema"]).copy()
        active[0] = True
        for t in tok.encode(c["valid"], add_special_tokens=False)[: a.max_steps]:
            before = sum(stat.values())
            eng.mask(m)
            calls += 1
            walking += sum(stat.values()) > before
            if not m.advance(t):
                break
        active[0] = False
    print(f"{calls} cold mask calls, {walking} ({100 * walking / max(calls, 1):.0f} %) with new walks")
    for k in sorted(stat):
        print(f"{k:28s} {stat[k]:6d} walks  median {statistics.median(times[k]):8.1f} us  total "
              f"{sum(times[k]) / 1e3:8.1f} ms")


if __name__ == "__main__":
    main()

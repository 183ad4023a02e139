"""Token-mask latency and correctness: memgram vs XGrammar vs llguidance on the same JSON schemas.

    python bench/mask_latency.py [--n 300] [--seed 0] [--engines memgram,xgrammar,llguidance]
                                 [--max-steps 64] [--e2e 32] [--out bench/out/mask_latency.json]

Schemas: the realistic random schemas of bench/json_schema_compile.py (same seed → same schemas), or with
``--data DIR`` real-world ones with their authors' valid/invalid instances (MaskBench files, see
:func:`load_maskbench`; not shipped: a checkout of guidance-ai/jsonschemabench has them under ``maskbench/data``).
Per schema: one valid instance generated from the schema (kept only if ``jsonschema`` with the
format checker accepts it) and invalid instances by mutation (type change, missing required key,
extra key under ``additionalProperties: false``, out-of-range number / enum, syntax damage; kept
only if ``jsonschema`` rejects them or they are not JSON). Texts are tokenized once with the
embedded model's tokenizer (49,152 tokens); all engines see the same token ids in one process.

Per engine: schemas compiled (refusals counted), compile p50 (schema → ready matcher, including
the engine's grammar compile and per-tokenizer preprocessing), mask p50/p99 (one bitmask over the
vocabulary per step while following the valid instances, at most ``--max-steps`` steps each, the
first sequence of each freshly compiled grammar: cold caches), "repeat" p50/p99 (the same instance
again with a new matcher of the same compiled grammar: what a served schema sees after its first
request),
valid instances accepted and invalid instances rejected (among the schemas the engine compiled).
The peers are optional (``pip install memgram[bench]``); a missing one is reported, not faked.
``--e2e N``: tokens/s of constrained vs unconstrained greedy generation with the embedded model (``--e2e-rounds``
interleaved pairs after a warm-up pair, medians); ``--n 0 --engines "" --e2e 64`` runs only that.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

from json_schema_compile import schema as random_schema  # noqa: E402

FORMAT_EXAMPLES = {"date": "2024-05-17", "time": "12:30:00Z", "date-time": "2024-05-17T12:30:00Z",
                   "email": "ada@example.com", "uuid": "123e4567-e89b-12d3-a456-426614174000",
                   "ipv4": "10.0.0.1", "uri": "https://example.com/x"}
PATTERN_EXAMPLES = {"^[a-z]+$": "abc", "[0-9]{3}": "123", "^[A-Z]{2}-[0-9]{4}$": "AB-1234"}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


# ----------------------------------------------------------------------------- instances
def gen_instance(s, root, rng, depth=0):
    if "$ref" in s:
        name = s["$ref"].split("/")[-1]
        return gen_instance(root["$defs"][name], root, rng, depth + 1)
    for k in ("oneOf", "anyOf"):
        if k in s:
            return gen_instance(rng.choice(s[k]), root, rng, depth)
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return rng.choice(s["enum"])
    t = s.get("type")
    if isinstance(t, list):
        t = rng.choice(t)
    if t == "object" or (t is None and "properties" in s):
        props = s.get("properties", {})
        req = set(s.get("required", []))
        out = {}
        for k, v in props.items():
            if k in req or (depth < 3 and rng.random() < 0.5):
                out[k] = gen_instance(v, root, rng, depth + 1)
        return out
    if t == "array":
        lo = s.get("minItems", 0)
        hi = min(s.get("maxItems", 3), 3 if depth < 3 else lo)
        return [gen_instance(s.get("items", {}), root, rng, depth + 1) for _ in range(rng.randint(lo, max(lo, hi)))]
    if t == "string":
        if "format" in s:
            return FORMAT_EXAMPLES[s["format"]]
        if "pattern" in s:
            return PATTERN_EXAMPLES.get(s["pattern"], "x")
        n = min(s.get("maxLength", 8), rng.randint(max(1, s.get("minLength", 0)), 8))
        return "".join(rng.choice("abcdefgh xyz") for _ in range(max(n, s.get("minLength", 0))))
    if t == "integer":
        lo = s.get("minimum", -50)
        hi = s.get("maximum", lo + 500)
        return rng.randint(lo, hi)
    if t == "number":
        lo = s.get("minimum", -5.0)
        return round(lo + rng.random() * 100, 3)
    if t == "boolean":
        return rng.random() < 0.5
    if t == "null":
        return None
    return 1


def leaves(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, path + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, path + (i,))
    else:
        yield path, x


def set_path(x, path, v):
    import copy

    x = copy.deepcopy(x)
    if not path:
        return v
    d = x
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = v
    return x


def mutations(inst, s, rng):
    """Candidate invalid texts (checked with jsonschema by the caller)."""
    out = []
    lv = list(leaves(inst))
    if lv:
        path, v = rng.choice(lv)
        alt = {str: 12345, int: "zz", float: "zz", bool: "yes", type(None): 7}.get(type(v), None)
        out.append(json.dumps(set_path(inst, path, alt)))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(json.dumps(set_path(inst, path, v + 10 ** 7)))
            out.append(json.dumps(set_path(inst, path, v - 10 ** 7)))
        if isinstance(v, str):
            out.append(json.dumps(set_path(inst, path, v + "\u00e9~#0")))
    if isinstance(inst, dict):
        out.append(json.dumps({**inst, "zz_extra": 1}))
        if s.get("required"):
            k = rng.choice(s["required"])
            out.append(json.dumps({a: b for a, b in inst.items() if a != k}))
    txt = json.dumps(inst)
    out.append(txt[:-1] if len(txt) > 1 else txt + "}")
    out.append(txt + ",")
    out.append(txt.replace(":", " ", 1) if ":" in txt else "[" + txt)
    return out


def build_cases(n, seed):
    import jsonschema

    rng = random.Random(seed)
    cases = []
    for i in range(n):
        s = random_schema(rng)
        v = jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())
        valid = None
        for _ in range(20):
            inst = gen_instance(s, s, rng)
            if v.is_valid(inst):
                valid = inst
                break
        invalid = []
        if valid is not None:
            for t in mutations(valid, s, rng):
                try:
                    ok = v.is_valid(json.loads(t))
                except ValueError:
                    ok = False
                if not ok and t not in invalid:
                    invalid.append(t)
        cases.append({"schema": s, "valid": None if valid is None else json.dumps(valid), "invalid": invalid})
    return cases


def load_maskbench(path, n, seed):
    """Cases from a directory of MaskBench files (``{"schema": ..., "tests": [{"data": ..., "valid": bool}]}``, as in
    guidance-ai/jsonschemabench ``maskbench/data``): real-world schemas with instances validated by the benchmark's
    authors. ``n`` files drawn with ``seed`` from the sorted file names (all if ``n`` is 0 or covers them); the first
    valid instance is followed for the masks, the invalid ones must be rejected. Files without a valid instance count
    as schemas without instance, as in :func:`build_cases`."""
    files = sorted(Path(path).glob("*.json"))
    if not files:
        raise SystemExit(f"--data {path}: no *.json files")
    if 0 < n < len(files):
        files = sorted(random.Random(seed).sample(files, n))
    cases = []
    for f in files:
        d = json.loads(f.read_text(encoding="utf-8"))
        tests = d.get("tests") or []
        valid = [json.dumps(t["data"], ensure_ascii=False) for t in tests if t.get("valid")]
        cases.append({"schema": d["schema"], "valid": valid[0] if valid else None, "name": f.name,
                      "invalid": [json.dumps(t["data"], ensure_ascii=False) for t in tests if not t.get("valid")]})
    return cases


# ----------------------------------------------------------------------------- engines
class MemgramEngine:
    name = "memgram"

    def __init__(self, tok):
        from memgram.grammar.matcher import compile_matcher
        from memgram.runtime.vocab import token_table

        self.table = token_table(tok)
        self.compile_matcher = compile_matcher
        self.buf = np.zeros(self.table.n_words, np.int32)

    def compile(self, schema):
        from memgram.grammar import Grammar

        g = Grammar.from_json_schema(schema)
        return self.compile_matcher(g, self.table)   # builds the per-(grammar, tokenizer) index

    def matcher(self, compiled):
        return compiled.copy()

    def mask(self, m):
        m.mask(self.buf)

    def accept(self, m, t):
        return m.advance(t)

    def accepting(self, m):
        return m.is_accepting()


class XGrammarEngine:
    name = "xgrammar"

    def __init__(self, tok):
        import xgrammar as xgr

        self.xgr = xgr
        self.info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=len(tok))
        self.compiler = xgr.GrammarCompiler(self.info, cache_enabled=False)
        self.bm = xgr.allocate_token_bitmask(1, self.info.vocab_size)

    def compile(self, schema):
        return self.compiler.compile_json_schema(json.dumps(schema))

    def matcher(self, compiled):
        return self.xgr.GrammarMatcher(compiled)

    def mask(self, m):
        m.fill_next_token_bitmask(self.bm)

    def accept(self, m, t):
        return m.accept_token(t)

    def accepting(self, m):
        return m.is_completed() or m.is_terminated()


class LLGuidanceEngine:
    name = "llguidance"

    def __init__(self, tok):
        import llguidance
        import llguidance.hf
        import llguidance.numpy

        self.ll = llguidance
        self.lln = llguidance.numpy
        self.tok = llguidance.hf.from_tokenizer(tok)
        self.bm = llguidance.numpy.allocate_token_bitmask(1, self.tok.vocab_size)

    def compile(self, schema):
        g = self.ll.LLMatcher.grammar_from_json_schema(schema)
        err = self.ll.LLMatcher.validate_grammar(g, self.tok)
        if err:
            raise ValueError(err)
        m = self.ll.LLMatcher(self.tok, g, log_level=0)
        if m.is_error():
            raise ValueError(m.get_error())
        return m

    def matcher(self, compiled):
        return compiled.deep_copy()

    def mask(self, m):
        self.lln.fill_next_token_bitmask(m, self.bm, 0)

    def accept(self, m, t):
        return m.consume_token(t) and not m.is_error()

    def accepting(self, m):
        return m.is_accepting()


ENGINES = {"memgram": MemgramEngine, "xgrammar": XGrammarEngine, "llguidance": LLGuidanceEngine}


def run_engine(eng, cases, tok_ids, max_steps):
    import collections

    compile_ms, mask_us, mask2_us, refused = [], [], [], 0
    per_case = {}                     # case index -> where its masks start in mask_us
    reasons = collections.Counter()   # why schemas were refused: exception type (a bug shows up here, not hidden)
    va = vt = ia = it = 0
    for ci, case in enumerate(cases):
        if case["valid"] is None:
            continue
        t0 = time.perf_counter()
        try:
            compiled = eng.compile(case["schema"])
        except Exception as e:
            refused += 1
            reasons[type(e).__name__] += 1
            continue
        compile_ms.append((time.perf_counter() - t0) * 1e3)
        per_case[ci] = first = len(mask_us)
        # valid instance: time the masks along it
        m = eng.matcher(compiled)
        ok = True
        for k, t in enumerate(tok_ids[ci]["valid"]):
            if k < max_steps:
                t0 = time.perf_counter()
                eng.mask(m)
                mask_us.append((time.perf_counter() - t0) * 1e6)
            if not eng.accept(m, t):
                ok = False
                break
        ok = ok and eng.accepting(m)
        per_case[ci] = (first, len(mask_us))
        vt += 1
        va += ok
        # the same instance again with a fresh matcher of the same compiled grammar (warm caches)
        m = eng.matcher(compiled)
        for k, t in enumerate(tok_ids[ci]["valid"][:max_steps]):
            t0 = time.perf_counter()
            eng.mask(m)
            mask2_us.append((time.perf_counter() - t0) * 1e6)
            if not eng.accept(m, t):
                break
        for ids in tok_ids[ci]["invalid"]:
            m = eng.matcher(compiled)
            ok = all(eng.accept(m, t) for t in ids) and eng.accepting(m)
            it += 1
            ia += ok
    return {"schemas": sum(c["valid"] is not None for c in cases), "compiled": len(compile_ms), "refused": refused,
            "refused_by": dict(reasons), "_per_case": per_case, "_mask_us": mask_us,
            "compile_ms_p50": statistics.median(compile_ms) if compile_ms else None,
            "compile_ms_p90": pct(compile_ms, 90),
            "mask_us_p50": statistics.median(mask_us) if mask_us else None, "mask_us_p99": pct(mask_us, 99),
            "mask_calls": len(mask_us),
            "repeat_mask_us_p50": statistics.median(mask2_us) if mask2_us else None,
            "repeat_mask_us_p99": pct(mask2_us, 99),
            "valid_accepted": va, "valid_total": vt, "invalid_rejected": it - ia, "invalid_total": it}


def e2e(n_tokens, rounds=5):
    """Tokens/s, greedy, constrained (JSON schema) vs unconstrained, same prompt and length: ``rounds`` interleaved
    pairs after one warm-up pair; the overhead compares the medians."""
    import statistics

    import torch

    import memgram
    from memgram.runtime.constrained import GrammarLogitsProcessor

    model, tok = memgram.load_default_model(verbose=False)
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}}}}
    g = memgram.Grammar.from_json_schema(schema)
    msgs = [{"role": "user", "content": "List many fruits as JSON: {\"items\": [...]}"}]
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    runs = {"unconstrained": [], "constrained": []}
    texts = {}
    for r in range(rounds + 1):
        for label in ("unconstrained", "constrained"):
            kw = dict(max_new_tokens=n_tokens, min_new_tokens=n_tokens, do_sample=False, pad_token_id=2)
            if label == "constrained":
                kw["logits_processor"] = [GrammarLogitsProcessor(g, tok, model=model)]
                kw.pop("min_new_tokens")   # min_new_tokens would fight the EOS mask
            with torch.no_grad():
                t0 = time.perf_counter()
                out = model.generate(ids, **kw)
                dt = time.perf_counter() - t0
            n = out.shape[1] - ids.shape[1]
            texts[label] = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
            if r > 0:  # the first pair warms up (grammar index, numba, allocator)
                runs[label].append({"tokens": n, "seconds": dt, "tokens_per_s": n / dt})
    res = {}
    for label, rs in runs.items():
        res[label] = {"tokens": rs[0]["tokens"], "rounds": len(rs),
                      "tokens_per_s": statistics.median(x["tokens_per_s"] for x in rs),
                      "all_tokens_per_s": [x["tokens_per_s"] for x in rs], "text": texts[label]}
    res["overhead"] = 1 - res["constrained"]["tokens_per_s"] / res["unconstrained"]["tokens_per_s"]
    return res


def default_tokenizer():
    """The embedded model's tokenizer: from the weights cache if it is complete (fast), else by loading the model."""
    from transformers import AutoTokenizer

    from memgram.runtime.model import cache_dir, default_gguf_path

    target = cache_dir() / "models" / default_gguf_path().stem
    if (target / ".complete").exists():
        return AutoTokenizer.from_pretrained(str(target))
    import memgram

    return memgram.load_default_model(verbose=True)[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", default="memgram,xgrammar,llguidance")
    ap.add_argument("--max-steps", type=int, default=64)
    ap.add_argument("--e2e", type=int, default=0, help="tokens for the end-to-end run (0: skip)")
    ap.add_argument("--e2e-rounds", type=int, default=5, help="interleaved constrained/unconstrained pairs (medians)")
    ap.add_argument("--data", default=None, metavar="DIR",
                    help="real-world schemas instead of generated ones: a directory of MaskBench files "
                         "(guidance-ai/jsonschemabench maskbench/data); --n of them drawn with --seed (0: all)")
    ap.add_argument("--out", default="bench/out/mask_latency.json")
    args = ap.parse_args()
    tok = default_tokenizer()
    cases = load_maskbench(args.data, args.n, args.seed) if args.data else build_cases(args.n, args.seed)
    enc = lambda s: tok.encode(s, add_special_tokens=False)  # noqa: E731
    tok_ids = [{"valid": enc(c["valid"]) if c["valid"] else None, "invalid": [enc(t) for t in c["invalid"]]}
               for c in cases]
    n_valid = sum(c["valid"] is not None for c in cases)
    print(f"{len(cases)} schemas, {n_valid} with a valid instance, {sum(len(c['invalid']) for c in cases)} invalid "
          f"instances; vocabulary {len(tok)}")
    rows = {}
    for name in [e for e in args.engines.split(",") if e]:   # --engines "" with --e2e: end-to-end only
        try:
            eng = ENGINES[name](tok)
            for w in ({"type": "integer"}, {"type": "object", "properties": {"a": {"type": "string"}}}):
                wm = eng.matcher(eng.compile(w))   # warm-up: imports, JIT caches, tokenizer preprocessing
                eng.mask(wm)
        except ImportError as e:
            print(f"{name}: not installed ({e}); pip install 'memgram[bench]'")
            rows[name] = {"error": f"not installed: {e}"}
            continue
        t0 = time.time()
        rows[name] = r = run_engine(eng, cases, tok_ids, args.max_steps)
        r["wall_s"] = time.time() - t0
    hdr = (f"{'engine':11s} {'compiled':>9s} {'compile p50':>12s} {'mask p50':>9s} {'mask p99':>9s} "
           f"{'valid acc':>10s} {'invalid rej':>12s} {'repeat p50/p99':>16s}")
    print(hdr)
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:11s} {r['error']}")
            continue
        print(f"{name:11s} {r['compiled']:4d}/{r['schemas']:<4d} {r['compile_ms_p50']:9.2f} ms "
              f"{r['mask_us_p50']:6.1f} µs {r['mask_us_p99']:6.1f} µs "
              f"{r['valid_accepted']:4d}/{r['valid_total']:<5d} {r['invalid_rejected']:5d}/{r['invalid_total']:<6d} "
              f"{r['repeat_mask_us_p50']:6.1f}/{r['repeat_mask_us_p99']:.1f} µs")
    done = [r for r in rows.values() if "error" not in r]
    for name, r in rows.items():
        if r.get("refused_by"):
            print(f"{name} refused: {r['refused_by']}")
    common = set.intersection(*(set(r["_per_case"]) for r in done)) if len(done) > 1 else set()
    common_stats = {}
    if common:   # the same schemas for every engine: the refusals differ between engines
        for name, r in rows.items():
            if "error" not in r:
                xs = [x for ci in common for x in r["_mask_us"][slice(*r["_per_case"][ci])]]
                common_stats[name] = {"mask_us_p50": statistics.median(xs), "mask_us_p99": pct(xs, 99),
                                      "mask_calls": len(xs)}
        print(f"on the {len(common)} schemas every engine compiled: " + "; ".join(
            f"{k} p50 {v['mask_us_p50']:.1f} µs p99 {v['mask_us_p99']:.1f} µs" for k, v in common_stats.items()))
    for r in done:
        del r["_per_case"], r["_mask_us"]
    mg = rows.get("memgram")
    ratios = {}
    if mg and "error" not in mg:
        for name, r in rows.items():
            if name != "memgram" and "error" not in r:
                ratios[name] = {k: mg[k] / r[k] for k in ("mask_us_p50", "mask_us_p99", "compile_ms_p50",
                                                            "repeat_mask_us_p50", "repeat_mask_us_p99") if r[k]}
                print(f"memgram / {name}: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios[name].items()))
        goals = {"mask_p50_le_20us": mg["mask_us_p50"] <= 20, "mask_p99_le_300us": mg["mask_us_p99"] <= 300,
                 "compile_p50_le_50ms": mg["compile_ms_p50"] <= 50,
                 "valid_accepted_100pct": mg["valid_accepted"] == mg["valid_total"],
                 "invalid_rejected_100pct": mg["invalid_rejected"] == mg["invalid_total"]}
        print("goals: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    else:
        goals = {}
    e2e_res = None
    if args.e2e:
        e2e_res = e2e(args.e2e, args.e2e_rounds)
        print("end-to-end (median of rounds): " + ", ".join(f"{k} {v['tokens_per_s']:.2f} tok/s" for k, v in e2e_res.items()
                                         if isinstance(v, dict)) + f"; overhead {100 * e2e_res['overhead']:.1f}%")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"n": len(cases), "seed": args.seed, "data": args.data,
                                          "max_steps": args.max_steps,
                                          "vocab": len(tok), "engines": rows, "ratios": ratios, "goals": goals,
                                          "common_schemas": len(common), "common": common_stats,
                                          "e2e": e2e_res, "command": " ".join(sys.argv)}, indent=2))


if __name__ == "__main__":
    main()

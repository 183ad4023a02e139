"""Long-context evaluation suite: metrics vs hand-computed values, prompt builders, loaders on small files in the
LongBench / InfiniteBench formats, the runner and its reports (model-free, with a byte tokenizer and scripted
answers), and a few tiny-length runs with the embedded model (marked ``model``)."""
from __future__ import annotations

import json
import re
import sys

import pytest

from memgram.runtime import metrics as M
from memgram.runtime.eval_runner import (format_scores_table, plot_records, run_eval, score_grid, summarize_scores,
                                         write_records_json)
from memgram.runtime.extraction import INCIDENT_SCHEMA, make_log, score_extraction
from memgram.runtime.loaders import (infinitebench_labels, load_infinitebench, load_longbench, longbench_score,
                                     truncate_middle)
from memgram.runtime.tasks import build_sample, kv_json, phrase_found, prose_sentences


class ByteTok:
    """A stand-in tokenizer: one token per UTF-8 byte (exact round trip), batch calls like transformers'."""

    eos_token_id = 0

    def __call__(self, text, add_special_tokens=False, **_):
        if isinstance(text, list):
            return {"input_ids": [list(t.encode()) for t in text]}
        return {"input_ids": list(text.encode())}

    def decode(self, ids, skip_special_tokens=True):
        return bytes(int(i) for i in ids).decode("utf8", errors="replace")


TOK = ByteTok()


# ------------------------------------------------------------------------------------------------------- metrics
def test_qa_f1_hand_computed():
    # normalised: "cat sat on mat" vs "cat on mat": 3 common, P = 3/4, R = 1
    assert M.qa_f1("The cat sat on the mat!", "a cat on mat") == pytest.approx(2 * 0.75 / 1.75)
    assert M.qa_f1("dog", "cat") == 0.0
    assert M.normalize_answer("  The  U.S.A., an   example ") == "usa example"
    assert M.best_score("qa_f1", "Paris", ["London", "paris"]) == 1.0


def test_rouge_l_hand_computed():
    # LCS of "the cat sat on the mat" / "the cat is on the mat" = 5 of 6 on both sides
    assert M.rouge_l("the cat sat on the mat", "The cat is on the mat.") == pytest.approx(5 / 6)
    assert M.rouge_l("", "x") == 0.0
    assert M.lcs_length(list("ABCBDAB"), list("BDCABA")) == 4


def test_rouge_lsum_hand_computed():
    # ref "a b c" / "d e", pred "a c d" / "e x y": union hits {a, c} + {d, e} = 4; P = 4/6, R = 4/5
    assert M.rouge_lsum("a c d\ne x y", "a b c\nd e") == pytest.approx(2 * (4 / 6) * (4 / 5) / (4 / 6 + 4 / 5))
    assert M.rouge_lsum("a b c", "a b c") == pytest.approx(1.0)


def test_classification_retrieval_count_code():
    classes = ["Location", "Number", "Abbreviation", "Abbreviation expansion"]
    assert M.classification("Location or Number", "Location", all_classes=classes) == 0.5
    # "Abbreviation" is a substring of the reference and differs from it: not counted
    assert M.classification("Abbreviation expansion", "Abbreviation expansion", all_classes=classes) == 1.0
    assert M.classification("Number", "Location", all_classes=classes) == 0.0
    assert M.retrieval("Paragraph 3, or maybe Paragraph 5", "Paragraph 3") == 0.5
    assert M.retrieval("no idea", "Paragraph 3") == 0.0
    assert M.count("There are 7 paragraphs, not 8", 7) == 0.5
    assert M.code_sim("# comment\nx = f(1)", "x = f(1)") == 1.0
    assert 0 < M.code_sim("x = f(2)", "x = f(1)") < 1


def test_infinitebench_metrics():
    assert M.first_int_equal("The pass key is 71432. Remember", "71432") == 1.0
    assert M.first_int_equal("key 7 then 71432", "71432") == 0.0
    assert M.word_match('The value is: "ab12-cd".', "ab12-cd") == 1.0
    assert M.word_match('The value is: "ab12-cde".', "ab12-cd") == 0.0
    assert M.choice_letter("B. The dog", ["the dog", "B"]) == 1.0
    assert M.choice_letter("I think the answer is: C", ["C"]) == 1.0
    assert M.choice_letter("I think the answer is: D", ["C"]) == 0.0
    assert M.choice_letter("Maybe A", ["B"]) == 0.0
    assert M.upper_word_match("It was Sam.", "SAM") == 1.0


# ------------------------------------------------------------------------------------------------ prompt builders
def test_haystack_is_prose_from_the_stdlib():
    sents = prose_sentences()
    assert len(sents) > 1000
    assert not any(">>>" in s for s in sents)
    assert sum(len(s) for s in sents) > 200_000


@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
def test_needle_prompt(depth):
    s = build_sample("needle", TOK, 3000, depth, seed=3)
    text = TOK.decode(s.ids)
    assert 2700 <= len(s.ids) <= 3000
    fact = s.meta["fact"]
    at = text.index(fact) / len(text)
    assert abs(at - depth) < 0.15
    assert text.count(s.expected) == 1 and text.rstrip().endswith(" is")
    assert s.score(f" {s.expected}.") == 1.0 and s.score(" something else") == 0.0
    assert s.score(s.expected.upper()) == 1.0  # normalised exact match
    assert build_sample("needle", TOK, 3000, depth, seed=3).ids == s.ids
    assert build_sample("needle", TOK, 3000, depth, seed=4).ids != s.ids


def test_phrase_found_is_whole_words():
    assert phrase_found("It is the golden walnut.", "golden walnut")
    assert not phrase_found("It is the golden walnuts.", "golden walnut")


def test_kv_prompt():
    s = build_sample("kv-retrieval", TOK, 4000, 0.25, seed=1)
    obj = kv_json(s, TOK)
    n = s.meta["n_keys"]
    assert len(obj) == n and n > 10 and len(s.ids) <= 4000
    key = s.meta["key"]
    assert obj[key] == s.expected and list(obj).index(key) == round(0.25 * (n - 1))
    assert TOK.decode(s.ids).endswith(f'Key: "{key}"\nThe value associated with the specified key is: "')
    assert s.score(f'{s.expected}"') == 1.0 and s.score(obj[list(obj)[0]] if list(obj)[0] != key else "x") == 0.0


def test_multi_needle_prompt_and_partial_score():
    s = build_sample("multi-needle", TOK, 3000, 0.2, seed=0)
    text = TOK.decode(s.ids)
    phrases = s.expected
    assert len(phrases) == 3 and len(set(phrases)) == 3
    assert all(text.count(f"office is {p}.") == 1 for p in phrases)
    pos = [text.index(f"office is {p}.") / len(text) for p in phrases]
    for p, d in zip(pos, s.meta["depths"]):
        assert abs(p - d) < 0.15
    assert s.score(f"{phrases[1]}.") == pytest.approx(1 / 3)
    assert s.score(", ".join(phrases)) == 1.0


def test_passkey_sample_matches_longctx():
    from memgram.runtime.longctx import passkey_prompt

    s = build_sample("passkey", TOK, 1000, 0.5, seed=2)
    ids, key = passkey_prompt(TOK, 1000, 0.5, 2)
    assert s.ids == ids[0].tolist() and s.expected == key and s.score(f" {key}.") == 1.0


# ---------------------------------------------------------------------------------------------------- loaders
def _write(path, recs):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


LB = [
    {"input": "Where is the tower?", "context": "The tower stands in Paris. " * 20, "answers": ["Paris"],
     "length": 100, "dataset": "hotpotqa", "language": "en", "all_classes": None, "_id": "a1"},
    {"input": "What is the capital of France?", "context": "Question: Who wrote X?\nType: Human\n" * 5,
     "answers": ["Location"], "length": 60, "dataset": "trec", "language": "en",
     "all_classes": ["Human", "Location", "Number"], "_id": "a2"},
    {"input": "", "context": "Paragraph 1: cats.\n\nParagraph 2: dogs.", "answers": ["Paragraph 2"], "length": 8,
     "dataset": "passage_retrieval_en", "language": "en", "all_classes": None, "_id": "a3"},
]


def test_longbench_loader_and_scores(tmp_path):
    samples = load_longbench(_write(tmp_path / "mixed.jsonl", LB), TOK)
    assert [s.task for s in samples] == ["longbench/hotpotqa", "longbench/trec", "longbench/passage_retrieval_en"]
    q = TOK.decode(samples[0].ids)
    assert "Where is the tower?" in q and "The tower stands in Paris." in q
    # token F1: "paris is answer" vs "paris" -> P 1/3, R 1
    assert samples[0].score("Paris is the answer") == pytest.approx(0.5)
    assert samples[1].score("Location\nNumber") == 1.0  # trec: first line only
    assert samples[1].score("Location Number") == 0.5
    assert samples[2].score("Paragraph 2") == 1.0 and samples[2].score("Paragraph 1") == 0.0
    assert longbench_score("samsum", "a b\nc d", ["a b"]) == 1.0
    cut = load_longbench(tmp_path / "mixed.jsonl", TOK, max_length=100, limit=1)
    assert len(cut) == 1 and len(cut[0].ids) == 100
    full = samples[0].ids
    assert cut[0].ids == full[:50] + full[-50:]


def test_truncate_middle():
    assert truncate_middle(list(range(10)), 4) == [0, 1, 8, 9]
    assert truncate_middle(list(range(10)), 5) == [0, 1, 7, 8, 9]
    assert truncate_middle([1, 2], 5) == [1, 2] and truncate_middle([1, 2], None) == [1, 2]


IB_KV = [{"id": 0, "context": json.dumps({"k1": "v-111", "k2": "v-222"}), "input": 'Key: "k2"\nThe value is:',
          "answer": ["v-222"], "options": []}]
IB_CHOICE = [{"id": 0, "context": "A long book about a dog named Rex.", "input": "What is the dog's name?",
              "answer": ["Rex"], "options": ["Max", "Rex", "Bo", "Fido"]}]
IB_PASSKEY = [{"id": 0, "context": "noise " * 10 + "The pass key is 12345." + " noise" * 10,
               "input": "What is the pass key?", "answer": "12345", "options": []}]


def test_infinitebench_loader_and_scores(tmp_path):
    kv = load_infinitebench(_write(tmp_path / "kv_retrieval.jsonl", IB_KV), TOK)
    assert kv[0].task == "infinitebench/kv_retrieval" and '"k2"' in TOK.decode(kv[0].ids)
    assert kv[0].score('"v-222"') == 1.0 and kv[0].score("v-111") == 0.0
    ch = load_infinitebench(_write(tmp_path / "longbook_choice_eng.jsonl", IB_CHOICE), TOK)
    assert infinitebench_labels("longbook_choice_eng", IB_CHOICE[0]) == ["Rex", "B"]
    assert "B. Rex" in TOK.decode(ch[0].ids)
    assert ch[0].score("B") == 1.0 and ch[0].score("A. Max") == 0.0 and ch[0].score("The answer is Rex") == 1.0
    pk = load_infinitebench(_write(tmp_path / "passkey.jsonl", IB_PASSKEY), TOK)
    assert pk[0].score("12345") == 1.0 and pk[0].score("1234") == 0.0
    with pytest.raises(ValueError):
        load_infinitebench(_write(tmp_path / "unknown_task.jsonl", IB_KV), TOK)


# ------------------------------------------------------------------------------------------- runner (scripted)
def _oracle_kv(model, tok, ids, mode, config, max_new_tokens):
    """Reads the asked key's value from the prompt in 'block' mode; a wrong value otherwise."""
    text = tok.decode(ids)
    key = re.findall(r'Key: "([^"]+)"', text)[-1]
    obj = json.loads(text[text.index("{"):text.index("}\n\nKey:") + 1])
    answer = obj[key] if mode == "block" else "0000"
    return answer + '"', 0.01 * len(ids) / 1000 + 0.001, {"units": 1 << 20, "new_tokens": 12}


def test_runner_records_table_json_plot(tmp_path):
    seen = []
    recs = run_eval(None, TOK, "kv-retrieval", modes=["block", "full", "window"], lengths=[800, 1600],
                    depths=[0.0, 0.5, 1.0], samples=2, seed=0, full_max_length=800, progress=False,
                    on_record=seen.append, generate=_oracle_kv)
    # full skipped at 1600: 2 lengths x 3 depths x 2 samples x 2 modes + 1 length x 3 x 2 for full
    assert len(recs) == 24 + 6 and seen == recs
    keys = {"task", "mode", "length", "target_length", "depth", "sample", "score", "correct", "seconds", "tokens",
            "tokens_per_s", "peak_rss_mb", "unit_mb"}
    assert keys <= set(recs[0])
    assert all(r["score"] == (1.0 if r["mode"] == "block" else 0.0) for r in recs)
    assert all(r["peak_rss_mb"] > 0 and r["tokens_per_s"] > 0 and r["unit_mb"] == 1.0 for r in recs)
    s = summarize_scores(recs)
    assert s["kv-retrieval"]["block"]["800"]["score"] == 1.0 and s["kv-retrieval"]["window"]["1600"]["n"] == 6
    assert "1600" not in s["kv-retrieval"]["full"]
    table = format_scores_table(s)
    assert "kv-retrieval" in table and "100%" in table and len(table.splitlines()) == 2 + 5
    depths, lengths, grid = score_grid(recs, "kv-retrieval", "full")
    assert depths == [0.0, 0.5, 1.0] and lengths == [800, 1600] and grid[0][0] == 0.0 and grid[0][1] != grid[0][1]
    write_records_json(tmp_path / "r.json", recs, {"x": 1})
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"]["kv-retrieval"]["block"]["1600"] == 1.0 and len(data["records"]) == 30
    plot_records(tmp_path / "r.png", recs)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runner_loader_task(tmp_path):
    path = _write(tmp_path / "kv_retrieval.jsonl", IB_KV * 2)

    def gen(model, tok, ids, mode, config, n):
        return "v-222", 0.01, {}

    recs = run_eval(None, TOK, "infinitebench", modes=["window"], lengths=[4096], data=path, progress=False,
                    generate=gen)
    assert [r["sample"] for r in recs] == [0, 1] and all(r["depth"] is None and r["score"] == 1.0 for r in recs)
    plot_records(tmp_path / "p.png", recs)
    with pytest.raises(ValueError):
        run_eval(None, TOK, "longbench", lengths=[100], progress=False, generate=gen)


def test_cli_eval_arguments():
    import argparse

    from memgram.runtime.cli_eval import add_commands

    p = argparse.ArgumentParser()
    add_commands(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["eval", "multi-needle", "--mode", "block,window", "--lengths", "512", "--samples", "2"])
    assert a.task == "multi-needle" and a.mode == "block,window" and a.samples == 2 and callable(a.fn)
    x = p.parse_args(["extract", "--schema", "s.json", "--file", "long.txt", "list the incidents"])
    assert x.schema == "s.json" and x.file == "long.txt" and x.instruction == "list the incidents"
    with pytest.raises(SystemExit):
        p.parse_args(["eval", "no-such-task"])


# -------------------------------------------------------------------------------------------------- extraction
def test_incident_log_and_schema():
    import jsonschema

    text, gold = make_log(n_lines=300, n_incidents=5, seed=3)
    assert len(gold) == 5 and text.count("INCIDENT") == 5
    lines = text.splitlines()
    assert len(lines) == 300 and lines == sorted(lines)  # chronological
    for g in gold:
        assert any(ln.startswith(g["date"]) and f" {g['host']} INCIDENT date={g['date']} host={g['host']} "
                   f"severity={g['severity']}: " in ln for ln in lines)
    jsonschema.validate({"incidents": gold}, INCIDENT_SCHEMA)
    assert make_log(n_lines=300, n_incidents=5, seed=3) == (text, gold)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"incidents": [{**gold[0], "severity": "fatal"}]}, INCIDENT_SCHEMA)


def test_incident_schema_compiles_to_a_grammar():
    from memgram.grammar import Grammar

    text, gold = make_log(n_lines=60, n_incidents=3, seed=1)
    g = Grammar.from_json_schema(INCIDENT_SCHEMA)
    assert g.accepts(json.dumps({"incidents": gold}))
    assert not g.accepts(json.dumps({"incidents": [{"date": "2024-3-1", "host": "web-01", "severity": "low"}]}))


def test_score_extraction_hand_computed():
    gold = [{"date": "2024-03-01", "host": "web-01", "severity": "low"},
            {"date": "2024-03-02", "host": "db-01", "severity": "high"},
            {"date": "2024-03-03", "host": "web-02", "severity": "critical"},
            {"date": "2024-03-03", "host": "web-02", "severity": "critical"}]
    pred = {"incidents": [gold[0], {**gold[1], "severity": "low"}, gold[2]]}
    s = score_extraction(pred, gold)
    assert (s["tp"], s["precision"], s["recall"]) == (2, pytest.approx(2 / 3), 0.5)
    # a duplicated prediction claims a duplicated gold record once each, not more
    s = score_extraction([gold[2]] * 3, gold)
    assert (s["tp"], s["precision"], s["recall"]) == (2, pytest.approx(2 / 3), 0.5)
    assert score_extraction([], gold)["recall"] == 0.0 and score_extraction([], [])["recall"] == 1.0


# --------------------------------------------------------------------------------------- embedded model (tiny)
@pytest.mark.model
def test_embedded_model_tiny_runs(default_model):
    """A ~500-token pass-key prompt: full attention finds the key; block memory with a 256-token window really
    evicts (memory units exist) and goes through the same runner; the records carry time and memory."""
    from memgram.memory.config import BlockMemoryConfig

    model, tok = default_model
    small = BlockMemoryConfig(n_init=16, n_local=256, block_size=32, topk=4, repr_topk=4, exec_chunk=128,
                              prefill_chunk=256)
    recs = run_eval(model, tok, "passkey", modes=["full", "block"], lengths=[500], depths=[0.3], config=small,
                    progress=False)
    by = {r["mode"]: r for r in recs}
    assert set(by) == {"full", "block"}
    assert by["full"]["correct"], by["full"]["answer"]
    assert by["block"]["unit_mb"] > 0 and by["full"]["unit_mb"] == 0
    assert all(r["peak_rss_mb"] > 100 and r["seconds"] > 0 and 450 <= r["length"] <= 500 for r in recs)


@pytest.mark.model
def test_extract_output_always_validates(default_model):
    """Block memory + the grammar processor in one generate() call: whatever the small model picks, the result is
    valid JSON of the schema: the default token budget is the schema's longest document in bytes (+1), so it cannot
    run out whatever the model writes."""
    import jsonschema

    from memgram.memory.config import BlockMemoryConfig
    from memgram.runtime.extraction import HOSTS, extract

    model, tok = default_model
    text, gold = make_log(n_lines=6, n_incidents=1, seed=5)
    schema = json.loads(json.dumps(INCIDENT_SCHEMA))
    schema["properties"]["incidents"]["maxItems"] = 3
    schema["properties"]["incidents"]["items"]["properties"]["host"] = {"enum": list(HOSTS)}
    cfg = BlockMemoryConfig(n_init=16, n_local=128, block_size=32, topk=2, repr_topk=2, exec_chunk=64,
                            prefill_chunk=128)
    value, raw = extract(model, tok, text, schema, mode="block", config=cfg, show_schema=False, return_text=True,
                         stats=(stats := {}))
    assert stats["units"] > 0 and stats["n_units"] > 0  # the 6-line log is longer than the 128-token window
    jsonschema.validate(value, schema)
    assert raw == json.dumps(value, separators=(",", ":"))  # compact: no padding
    s = score_extraction(value, gold)
    assert 0.0 <= s["recall"] <= 1.0 and s["gold"] == 1


def test_passkey_sweep_goes_through_the_runner(monkeypatch):
    """``memgram passkey`` (evaluation.passkey_sweep) runs on the same runner: its records keep the old fields
    (key, answer, correct, ...) and feed the old summarize/format_table."""
    from memgram.runtime import eval_runner
    from memgram.runtime.evaluation import format_table, passkey_sweep, summarize

    def fake(model, tok, ids, mode, config, n):
        key = re.search(r"The pass key is (\d+)", tok.decode(ids)).group(1)
        return (f" {key}." if mode == "block" else " 12345."), 0.5, {"units": 0, "new_tokens": 3}

    monkeypatch.setattr(eval_runner, "generate_answer", fake)
    recs = passkey_sweep(None, TOK, [600, 1200], [0.2, 0.8], ["block", "window", "full"], samples=2, seed=1,
                         full_max_length=600, progress=False)
    assert len(recs) == 2 * 2 * 2 * 2 + 2 * 2
    assert all(r["task"] == "passkey" and r["correct"] == (r["mode"] == "block") for r in recs)
    assert all(r["key"] == r["expected"] and len(r["key"]) == 5 for r in recs)
    assert {r["sample"] for r in recs} == {0, 1}
    s = summarize(recs)
    assert s["block"]["1200"]["accuracy"] == 1.0 and s["window"]["600"]["accuracy"] == 0.0
    assert "block" in format_table(s)


def _load_bench_longctx():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "longctx.py"
    spec = importlib.util.spec_from_file_location("bench_longctx", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_longctx_reuse_records(tmp_path):
    """--reuse keeps an earlier run's records only for jobs of this run, and refuses another config or seed."""
    import json

    from memgram import BlockMemoryConfig

    bl = _load_bench_longctx()
    cfg = BlockMemoryConfig()
    rec = lambda L, d, mode="block", s=0: {"mode": mode, "target_length": L, "depth": d, "sample": s, "correct": True}
    data = {"meta": {"config": {**cfg.to_dict(), "mode": "full"}, "argv": ["--lengths", "8192"]},
            "records": [rec(8192, 0.3), rec(8192, 0.1), rec(16384, 0.3), rec(8192, 0.3, "window"), rec(8192, 0.7, s=1),
                        rec(4096, 0.7)]}
    p = tmp_path / "passkey.json"
    p.write_text(json.dumps(data))
    recs, done = [], {("passkey", "block", 4096, 0.7, 0)}
    n = bl.reuse_records(p, recs, done, cfg, 0, ["passkey", "needle"], ["block", "full"], [4096, 8192],
                         [0.3, 0.7], lambda L: 1)
    assert n == 1 and [(r["task"], r["target_length"], r["depth"]) for r in recs] == [("passkey", 8192, 0.3)]
    assert recs[0]["reused_from"] == str(p) and ("passkey", "block", 8192, 0.3, 0) in done
    with pytest.raises(SystemExit, match="seed"):
        bl.reuse_records(p, [], set(), cfg, 1, ["passkey"], ["block"], [8192], [0.3], lambda L: 1)
    with pytest.raises(SystemExit, match="config differs"):
        bl.reuse_records(p, [], set(), BlockMemoryConfig(topk=8), 0, ["passkey"], ["block"], [8192], [0.3],
                         lambda L: 1)
    data["meta"]["argv"] += ["--seed", "3"]
    p.write_text(json.dumps(data))
    assert bl.reuse_records(p, [], set(), cfg, 3, ["passkey"], ["block"], [8192], [0.3], lambda L: 1) == 1


def test_longctx_report_merges_without_running(tmp_path, capsys):
    """--report loads no model, runs nothing, and writes the records of the --reuse files that answer the jobs."""
    import json

    from memgram import BlockMemoryConfig

    bl = _load_bench_longctx()
    base = {"length": 4000, "sample": 0, "score": 1.0, "correct": True, "answer": "x", "expected": "x", "seconds": 2.0,
            "tokens": 4000, "new_tokens": 3, "tokens_per_s": 2000.0, "peak_rss_mb": 100.0, "unit_mb": 1.0}
    a = [{**base, "task": "needle", "mode": m, "target_length": 4096, "depth": 0.3} for m in ("block", "window")]
    b = [{**base, "task": "passkey", "mode": "block", "target_length": 4096, "depth": 0.3, "correct": False,
          "score": 0.0}]
    for name, recs in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps({"meta": {"config": BlockMemoryConfig().to_dict(), "seed": 0},
                                                 "records": recs}))
    out = tmp_path / "all.json"
    rc = bl.main(["--report", "--tasks", "passkey,needle", "--mode", "block,window", "--lengths", "4096",
                  "--depths", "0.3", "--reuse", str(tmp_path / "a.json"), "--reuse", str(tmp_path / "b.json"),
                  "--json", str(out), "--no-progress"])
    assert rc == 0
    data = json.loads(out.read_text())
    assert len(data["records"]) == 3
    assert "1 jobs have no record" in capsys.readouterr().out      # passkey window 4096 0.3


_MALLOC_SCRIPT = r"""
import sys, torch
from memgram.runtime.longctx import fix_malloc_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_malloc_mmap_threshold(1 << 20)
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
big = torch.empty(20 << 18).fill_(1)   # 20 MiB of float32, mapped on its own; freeing it raises glibc's threshold
del big
ys = [torch.empty(2 << 18).fill_(1) for _ in range(50)]   # 50 x 2 MiB
before = rss()
del ys[::2]                            # free every other one: holes between buffers still in use
print(before - rss())                  # MB given back to the OS
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or __import__("platform").libc_ver()[0] != "glibc",
                    reason="mallopt thresholds and /proc are glibc / Linux only")
def test_fixed_mmap_threshold_returns_freed_buffers():
    """With the allocator's adaptive threshold, freed 2 MiB buffers stay resident; with the fixed threshold they go
    back to the OS (what --malloc-mmap-threshold relies on for memory measurements)."""
    import subprocess

    returned = {m: float(subprocess.run([sys.executable, "-c", _MALLOC_SCRIPT, m], capture_output=True, text=True,
                                    check=True).stdout.split()[-1]) for m in ("default", "fixed")}
    assert returned["default"] < 10, returned   # the freed 50 MB stay resident
    assert returned["fixed"] > 40, returned

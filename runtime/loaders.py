"""LongBench and InfiniteBench tasks from local JSONL files in their published formats, scored with their metrics.

LongBench (THUDM/LongBench, v1 and LongBench-E), one JSON object per line::

    {"input": question, "context": long text, "answers": [reference, ...], "length": words, "dataset": name,
     "language": "en", "all_classes": [class, ...] or null, "_id": "..."}

InfiniteBench (OpenBMB/InfiniteBench, as on the Hugging Face hub), one JSON object per line::

    {"id": 0, "context": long text, "input": question, "answer": [reference, ...] (or a string / number),
     "options": [option, ...] (multiple choice; else [])}

The task comes from the ``dataset`` field (LongBench) or the file name (``kv_retrieval.jsonl``); prompts are memgram's
own wording. A prompt longer than ``max_length`` tokens is cut in the middle (its first and last halves kept), as both
benchmarks do. Scores are per sample in [0, 1]; the benchmarks report the mean x 100.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import metrics as M
from .tasks import Sample

# ------------------------------------------------------------------------------------------------------ LongBench
_QA1 = ("Read the document below and answer the question as briefly as you can, with a single phrase if possible.\n\n"
        "Document:\n{context}\n\nQuestion: {input}\nAnswer:")
_QAM = ("Answer the question using the passages below. Reply with the answer only, no explanation.\n\n"
        "Passages:\n{context}\n\nQuestion: {input}\nAnswer:")
_CODE = "Complete the code below with its next line.\n{context}Next line of code:\n"
LONGBENCH = {  # dataset: (metric, max_new_tokens, template, first line only)
    "narrativeqa": ("qa_f1", 128, _QA1, False),
    "qasper": ("qa_f1", 128, _QA1, False),
    "multifieldqa_en": ("qa_f1", 64, _QA1, False),
    "hotpotqa": ("qa_f1", 32, _QAM, False),
    "2wikimqa": ("qa_f1", 32, _QAM, False),
    "musique": ("qa_f1", 32, _QAM, False),
    "gov_report": ("rouge_l", 512, "Write a one-page summary of the report below.\n\nReport:\n{context}\n\nSummary:", False),
    "qmsum": ("rouge_l", 512, "Answer the query about the meeting transcript below.\n\nTranscript:\n{context}\n\n"
                              "Query: {input}\nAnswer:", False),
    "multi_news": ("rouge_l", 512, "Write a one-page summary of the news articles below.\n\n{context}\n\nSummary:", False),
    "trec": ("classification", 64, "Give the type of the last question, as in the examples.\n\n{context}\n{input}", True),
    "triviaqa": ("qa_f1", 32, "Answer the last question from its passage, as in the examples.\n\n{context}\n\n{input}", True),
    "samsum": ("rouge_l", 128, "Summarize the last dialogue, as in the examples.\n\n{context}\n\n{input}", True),
    "passage_count": ("count", 32, "Some of the paragraphs below are repeated. How many different paragraphs are "
                                   "there? Answer with one number.\n\n{context}\n\nNumber of different paragraphs:", False),
    "passage_retrieval_en": ("retrieval", 32, "Which of the paragraphs below does the summary describe? Answer in the "
                                              "form \"Paragraph 1\".\n\n{context}\n\nSummary: {input}\n\nAnswer:", False),
    "lcc": ("code_sim", 64, _CODE, False),
    "repobench-p": ("code_sim", 64, "Complete the code below with its next line.\n{context}{input}Next line of code:\n",
                    False),
}
_GENERIC = ("qa_f1", 64, "{context}\n\nQuestion: {input}\nAnswer:", False)

# --------------------------------------------------------------------------------------------------- InfiniteBench
INFINITEBENCH = {  # task: (metric, max_new_tokens, template)
    "passkey": ("first_int", 6, "There is a pass key hidden in the text below; find it.\n\n{context}\n\n{input}"),
    "number_string": ("first_int", 12, "There is a long number hidden in the text below; find it.\n\n{context}\n\n{input}"),
    "kv_retrieval": ("word_match", 50, "Extract the value that belongs to the given key in the JSON object below.\n\n"
                                       "{context}\n\n{input}"),
    "longbook_qa_eng": ("qa_f1", 40, "Read the book below and answer the question briefly.\n\n{context}\n\n"
                                     "Question: {input}\nAnswer:"),
    "longbook_sum_eng": ("rouge_lsum", 1200, "Summarize the book below.\n\n{context}\n\nSummary:"),
    "longbook_choice_eng": ("choice", 40, "Read the book below and answer the question with the letter of the right "
                                          "option.\n\n{context}\n\nQuestion: {input}\n{options}\nAnswer:"),
    "longdialogue_qa_eng": ("upper_word_match", 40, "Below is a dialogue script in which one character's name is "
                                                    "replaced by $$MASK$$. Which character is it?\n\n{context}\n\n"
                                                    "{input}\nAnswer:"),
    "math_find": ("first_number", 3, "{context}\n\n{input}\nAnswer:"),
}


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def truncate_middle(ids: list[int], max_length: int | None) -> list[int]:
    """Keep the first and the last ``max_length // 2`` tokens of a prompt longer than ``max_length``."""
    if not max_length or len(ids) <= max_length:
        return list(ids)
    half = max_length // 2
    return list(ids[:half]) + list(ids[len(ids) - (max_length - half):])


def _enc(tok, s):
    return tok(s, add_special_tokens=False)["input_ids"]


def longbench_score(dataset: str, prediction: str, answers, all_classes=None) -> float:
    metric, _, _, first_line = LONGBENCH.get(dataset, _GENERIC)
    if first_line:
        prediction = prediction.lstrip("\n").split("\n")[0]
    return M.best_score(metric, prediction, answers, all_classes=all_classes)


def longbench_dataset_name(rec: dict, path=None) -> str:
    name = rec.get("dataset") or (Path(path).stem if path else "")
    return name[:-2] if name.endswith("_e") and name[:-2] in LONGBENCH else name


def load_longbench(path, tok, max_length: int | None = None, limit: int | None = None, dataset: str | None = None) -> list[Sample]:
    out = []
    for i, rec in enumerate(read_jsonl(path)[:limit]):
        name = dataset or longbench_dataset_name(rec, path)
        metric, max_new, template, _ = LONGBENCH.get(name, _GENERIC)
        ids = truncate_middle(_enc(tok, template.format(context=rec["context"], input=rec.get("input", ""))), max_length)
        answers, classes = rec["answers"], rec.get("all_classes")
        out.append(Sample(f"longbench/{name}", ids, max_new, answers,
                          (lambda a, n=name, r=answers, c=classes: longbench_score(n, a, r, c)), None,
                          max_length, {"id": rec.get("_id", i), "dataset": name, "metric": metric,
                                       "length_words": rec.get("length")}))
    return out


def infinitebench_labels(task: str, rec: dict) -> list:
    ans = rec["answer"]
    labels = [ans] if isinstance(ans, (str, int, float)) else list(ans)
    if task == "longbook_choice_eng":
        opts = rec.get("options") or []
        labels = labels + ["ABCD"[opts.index(a)] for a in labels if a in opts and opts.index(a) < 4]
    return labels


def infinitebench_score(task: str, prediction: str, labels: list) -> float:
    metric = INFINITEBENCH[task][0]
    if metric == "choice":
        return M.choice_letter(prediction, labels)
    if metric == "first_number":
        import re

        m = re.search(r"\d+\.\d+|\d+", prediction)
        if m is None:
            return 0.0
        return float(any(float(m.group(0)) == float(x) for x in labels))
    if metric in ("word_match", "upper_word_match", "first_int"):
        return float(M.METRICS[metric](prediction, str(labels[0])))
    return M.best_score(metric, prediction, [str(x) for x in labels])


def load_infinitebench(path, tok, max_length: int | None = None, limit: int | None = None, task: str | None = None) -> list[Sample]:
    task = task or Path(path).stem
    if task not in INFINITEBENCH:
        raise ValueError(f"InfiniteBench task {task!r} not supported; supported: {', '.join(INFINITEBENCH)} (name the file "
                         "after the task or pass task=)")
    metric, max_new, template = INFINITEBENCH[task]
    out = []
    for i, rec in enumerate(read_jsonl(path)[:limit]):
        opts = rec.get("options") or []
        text = template.format(context=rec["context"], input=rec.get("input", ""),
                               options="\n".join(f"{'ABCD'[j]}. {o}" for j, o in enumerate(opts[:4])))
        ids = truncate_middle(_enc(tok, text), max_length)
        labels = infinitebench_labels(task, rec)
        out.append(Sample(f"infinitebench/{task}", ids, max_new, labels,
                          (lambda a, t=task, lb=labels: infinitebench_score(t, a, lb)), None, max_length,
                          {"id": rec.get("id", i), "dataset": task, "metric": metric}))
    return out

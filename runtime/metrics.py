"""Scoring functions of the long-context evaluations (written from the published metric definitions).

LongBench (THUDM, 2023) scores each prediction against every reference answer and keeps the best:
  * ``qa_f1``: token F1 after SQuAD normalisation (lower case, punctuation and the articles a/an/the removed,
    whitespace collapsed);
  * ``rouge_l``: ROUGE-L F1 = F-measure of the longest common subsequence of whitespace tokens;
  * ``classification``: 1/len(matched classes) when the reference class is among the class names found in the
    prediction (class names that are substrings of the reference but differ from it are not counted), else 0;
  * ``retrieval``: the share of the numbers in the prediction that equal the reference paragraph number;
  * ``count``: the share of the numbers in the prediction that equal the reference count;
  * ``code_sim``: edit similarity (0..1) of the first non-comment line of the prediction with the reference.
InfiniteBench (OpenBMB, 2024): first integer equal (passkey, number_string), the reference among the words of the
prediction split at punctuation (kv_retrieval), first option letter (longbook_choice_eng), token F1 (longbook_qa_eng),
ROUGE-Lsum (longbook_sum_eng), and the reference among the upper-cased words (longdialogue_qa_eng).

Differences from the reference implementations (which use third-party packages): ``rouge_l`` is the plain LCS F1
(beta = 1) on lower-cased tokens; ``code_sim`` uses :class:`difflib.SequenceMatcher` instead of Levenshtein ratio.
"""
from __future__ import annotations

import difflib
import re
import string
from collections import Counter

_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation, drop the articles a/an/the, collapse whitespace."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def token_f1(pred_tokens: list, ref_tokens: list) -> float:
    common = Counter(pred_tokens) & Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    p, r = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * p * r / (p + r)


def qa_f1(prediction: str, reference: str, **_) -> float:
    return token_f1(normalize_answer(prediction).split(), normalize_answer(reference).split())


def lcs_length(a: list, b: list) -> int:
    """Length of the longest common subsequence (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _rouge_tokens(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", s.lower())


def _f(hit: int, n_pred: int, n_ref: int) -> float:
    if hit == 0 or n_pred == 0 or n_ref == 0:
        return 0.0
    p, r = hit / n_pred, hit / n_ref
    return 2 * p * r / (p + r)


def rouge_l(prediction: str, reference: str, **_) -> float:
    """ROUGE-L F1: LCS of the lower-cased alphanumeric tokens."""
    a, b = _rouge_tokens(prediction), _rouge_tokens(reference)
    return _f(lcs_length(a, b), len(a), len(b))


def rouge_lsum(prediction: str, reference: str, **_) -> float:
    """Summary-level ROUGE-L (ROUGE-Lsum): sentences are lines; each reference sentence counts the union of its LCS
    hits with every prediction sentence (each reference token counted once)."""
    preds = [_rouge_tokens(s) for s in prediction.split("\n")]
    refs = [_rouge_tokens(s) for s in reference.split("\n")]
    preds = [p for p in preds if p]
    refs = [r for r in refs if r]
    n_pred, n_ref = sum(map(len, preds)), sum(map(len, refs))
    pred_budget = Counter(t for p in preds for t in p)
    ref_budget = Counter(t for r in refs for t in r)
    hit = 0
    for r in refs:
        union = set()
        for p in preds:
            union |= _lcs_positions(r, p)
        for i in sorted(union):
            t = r[i]
            if pred_budget[t] > 0 and ref_budget[t] > 0:
                hit += 1
                pred_budget[t] -= 1
                ref_budget[t] -= 1
    return _f(hit, n_pred, n_ref)


def _lcs_positions(a: list, b: list) -> set[int]:
    """Indices into ``a`` of one longest common subsequence of a and b."""
    n, m = len(a), len(b)
    t = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            t[i + 1][j + 1] = t[i][j] + 1 if a[i] == b[j] else max(t[i][j + 1], t[i + 1][j])
    out, i, j = set(), n, m
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.add(i - 1)
            i, j = i - 1, j - 1
        elif t[i - 1][j] >= t[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return out


def classification(prediction: str, reference: str, all_classes=(), **_) -> float:
    found = [c for c in (all_classes or []) if c in prediction]
    found = [c for c in found if not (c in reference and c != reference)]
    return 1.0 / len(found) if reference in found else 0.0


def retrieval(prediction: str, reference: str, **_) -> float:
    m = re.findall(r"Paragraph (\d+)", reference)
    target = m[0] if m else reference.strip()
    nums = re.findall(r"\d+", prediction)
    return sum(n == target for n in nums) / len(nums) if nums else 0.0


def count(prediction: str, reference, **_) -> float:
    nums = re.findall(r"\d+", prediction)
    return sum(n == str(reference) for n in nums) / len(nums) if nums else 0.0


def code_sim(prediction: str, reference: str, **_) -> float:
    line = ""
    for ln in prediction.lstrip("\n").split("\n"):
        if "`" not in ln and "#" not in ln and "//" not in ln:
            line = ln
            break
    return difflib.SequenceMatcher(None, line, reference).ratio()


# ---------------------------------------------------------------------------------------------- InfiniteBench
def first_int(prediction: str) -> str:
    m = re.search(r"\d+", prediction)
    return m.group(0) if m else ""


def first_int_equal(prediction: str, reference, **_) -> float:
    return float(first_int(prediction) == str(reference))


def split_words(prediction: str) -> list[str]:
    for c in "\n:\"'.,?!{}":
        prediction = prediction.replace(c, " ")
    return prediction.split()


def word_match(prediction: str, reference: str, **_) -> float:
    """The reference is one of the words of the prediction (split at whitespace and ``\\n:"'.,?!{}``)."""
    return float(reference in split_words(prediction))


def upper_word_match(prediction: str, reference: str, **_) -> float:
    return float(reference in [w.upper() for w in split_words(prediction)])


def choice_letter(prediction: str, labels, **_) -> float:
    """Multiple choice: the first character if it is A-D, else the option after an "answer is"-style prefix, else the
    first stand-alone A-D word; correct when it is among ``labels`` (option letters and/or option texts)."""
    labels = [labels] if isinstance(labels, str) else list(labels)
    pred = prediction.strip()
    if not pred:
        return 0.0
    if pred[0] in "ABCD":
        return float(pred[0] in labels)
    for c in "\n\"'.,?!{}":
        pred = pred.replace(c, " ")
    pred = " ".join(pred.split())
    for prefix in ("answer is:", "answer:", "answer is", "option is"):
        i = pred.find(prefix)
        if i >= 0:
            rest = pred[i + len(prefix) + 1:]
            return float(any(rest.startswith(s) for s in labels if s))
    for w in pred.split():
        if w in ("A", "B", "C", "D"):
            return float(w in labels)
    return 0.0


METRICS = {
    "qa_f1": qa_f1, "rouge_l": rouge_l, "rouge_lsum": rouge_lsum, "classification": classification,
    "retrieval": retrieval, "count": count, "code_sim": code_sim, "first_int": first_int_equal,
    "word_match": word_match, "upper_word_match": upper_word_match,
}


def best_score(metric: str, prediction: str, references, **kw) -> float:
    """The published aggregation: the best score over the reference answers."""
    fn = METRICS[metric]
    refs = [references] if isinstance(references, (str, int)) else list(references)
    return max((fn(prediction, r, **kw) for r in refs), default=0.0)

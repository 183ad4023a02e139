"""Prompt builders and scorers of the synthetic long-context tasks (model-free: a tokenizer is all they need).

Every task turns ``(tokenizer, length, depth, seed)`` into a :class:`Sample`: the prompt's token ids (about ``length``
tokens; pieces are tokenized separately and concatenated, so the length is exact up to one filler piece), how many
tokens to generate, what is expected, and a scorer mapping the generated text to a score in [0, 1].

* ``passkey``: a 5-digit pass key in repeated filler (:func:`memgram.runtime.longctx.passkey_prompt`); the key in
  the answer.
* ``needle``: a one-sentence fact ("The secret ingredient of ... is <key phrase>.") hidden in English prose from the
  Python documentation that ships with the standard library (``pydoc_data.topics``); the question asks for it;
  exact match of the normalised key phrase in the answer.
* ``kv-retrieval``: a JSON object of N random UUID keys -> UUID values (N fills the length); the value of the key at
  relative position ``depth`` is asked; InfiniteBench's Retrieve.KV scoring (the UUID is one of the answer's words).
* ``multi-needle``: ``k`` facts of one kind (one per city) at depths ``depth, depth + 1/k, ...`` (mod 1), all asked at
  once; score = fraction of key phrases found in the answer.
"""
from __future__ import annotations

import json
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .metrics import normalize_answer, word_match

TASKS = ("passkey", "needle", "kv-retrieval", "multi-needle")


@dataclass
class Sample:
    task: str
    ids: list[int]
    max_new_tokens: int
    expected: object
    scorer: Callable[[str], float] = field(repr=False)
    depth: float | None = None
    target_length: int | None = None
    meta: dict = field(default_factory=dict)

    def score(self, answer: str) -> float:
        return float(self.scorer(answer))


def _enc(tok, s: str) -> list[int]:
    return tok(s, add_special_tokens=False)["input_ids"]


# ------------------------------------------------------------------------------------------------------ haystack
_SENTENCES: list[str] | None = None
_TOKENIZED: dict = {}


def prose_sentences() -> list[str]:
    """English sentences of the Python documentation in ``pydoc_data.topics`` (prose paragraphs only: no code,
    no doctest, no indented blocks), in a fixed order."""
    global _SENTENCES
    if _SENTENCES is None:
        from pydoc_data.topics import topics

        text = "\n\n".join(topics[k] for k in sorted(topics))
        out = []
        for para in re.split(r"\n\s*\n", text):
            if not para or para[0].isspace() or ">>>" in para or len(para) < 80:
                continue
            if sum(c.isalpha() or c == " " for c in para) / len(para) < 0.85:
                continue
            para = " ".join(para.split())
            out.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", para) if len(s) > 20)
        _SENTENCES = out
    return _SENTENCES


def _tokenized_sentences(tok) -> list[list[int]]:
    """Token ids of every prose sentence with a leading space (cached per tokenizer)."""
    key = id(tok)
    if key not in _TOKENIZED:
        sents = prose_sentences()
        _TOKENIZED[key] = (tok, tok([" " + s for s in sents], add_special_tokens=False)["input_ids"])
    return _TOKENIZED[key][1]


def haystack_with(tok, n_tokens: int, inserts: list[tuple[float, list[int]]], rng: random.Random) -> list[int]:
    """About ``n_tokens`` tokens of prose starting at a random sentence (wrapping around), with each insert's ids
    placed between sentences at its relative depth (0 = start, 1 = end)."""
    sents = _tokenized_sentences(tok)
    need = max(0, n_tokens - sum(len(ids) for _, ids in inserts))
    i = rng.randrange(len(sents))
    pieces, total = [], 0
    while total < need:
        s = sents[i % len(sents)]
        if total + len(s) > need and pieces:
            break
        pieces.append(s)
        total += len(s)
        i += 1
    # cut points in sentence units, by token position
    bounds = [0]
    for p in pieces:
        bounds.append(bounds[-1] + len(p))
    at = {}
    for k, (d, ids) in enumerate(inserts):
        target = min(max(d, 0.0), 1.0) * total
        j = min(range(len(bounds)), key=lambda b: abs(bounds[b] - target))
        at.setdefault(j, []).append(ids)
    out = []
    for j in range(len(pieces) + 1):
        for ids in at.get(j, []):
            out.extend(ids)
        if j < len(pieces):
            out.extend(pieces[j])
    return out


# ---------------------------------------------------------------------------------------------- key phrases / facts
_ADJ = ("amber", "crimson", "silver", "velvet", "frozen", "golden", "hollow", "lucky", "quiet", "rusty", "smoky",
        "violet", "wooden", "bitter", "copper", "dusty", "gentle", "marble", "purple", "scarlet")
_NOUN = ("lantern", "walnut", "harbor", "falcon", "thimble", "compass", "meadow", "pepper", "saffron", "teapot",
         "violin", "glacier", "orchard", "pebble", "ribbon", "anchor", "cactus", "kettle", "lighthouse", "sparrow")
CITIES = ("Lisbon", "Oslo", "Nairobi", "Lima", "Kyoto", "Dublin", "Quito", "Tallinn", "Hanoi", "Perth", "Accra",
          "Bergen", "Cusco", "Porto", "Riga", "Seville")
NEEDLE_SUBJECTS = (
    ("the secret ingredient of Grandma Rosa's famous soup", "What is the secret ingredient of Grandma Rosa's famous soup?"),
    ("the name of the ship that first reached the northern island", "What is the name of the ship that first reached the northern island?"),
    ("the password that opens the old library vault", "What is the password that opens the old library vault?"),
    ("the prize in the annual village baking contest", "What is the prize in the annual village baking contest?"),
)


def key_phrase(rng: random.Random) -> str:
    return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"


def phrase_found(answer: str, phrase: str) -> bool:
    """Exact match of the key phrase: its normalised words appear contiguously in the normalised answer."""
    a, p = f" {normalize_answer(answer)} ", f" {normalize_answer(phrase)} "
    return p in a


INTRO_NEEDLE = ("Below is a long text. Somewhere inside it there is one important fact that is unrelated to the rest. "
                "Read carefully; you will be asked about it.\n\n")


def needle_sample(tok, length: int, depth: float, seed: int = 0) -> Sample:
    rng = random.Random(f"needle-{seed}-{length}-{depth}")
    subject, question = rng.choice(NEEDLE_SUBJECTS)
    phrase = key_phrase(rng)
    fact = f" {subject[0].upper()}{subject[1:]} is {phrase}."
    head = _enc(tok, INTRO_NEEDLE)
    tail = _enc(tok, f"\n\nQuestion: {question}\nAnswer: {subject[0].upper()}{subject[1:]} is")
    body = haystack_with(tok, length - len(head) - len(tail), [(depth, _enc(tok, fact))], rng)
    return Sample("needle", head + body + tail, 8, phrase, lambda a: float(phrase_found(a, phrase)), depth, length,
                  {"fact": fact.strip()})


def multi_needle_sample(tok, length: int, depth: float, seed: int = 0, k: int = 3) -> Sample:
    rng = random.Random(f"multi-{seed}-{length}-{depth}-{k}")
    cities = rng.sample(CITIES, k)
    phrases = []
    for _ in cities:  # distinct phrases, so that each one identifies one fact
        p = key_phrase(rng)
        while p in phrases:
            p = key_phrase(rng)
        phrases.append(p)
    facts = [f" The secret code word of the {c} office is {p}." for c, p in zip(cities, phrases)]
    depths = [(depth + i / k) % 1.0 for i in range(k)]
    head = _enc(tok, f"Below is a long text. Hidden inside it there are {k} important facts that are unrelated to the "
                     "rest. Read carefully; you will be asked about them.\n\n")
    names = ", ".join(cities[:-1]) + f" and {cities[-1]}"
    tail = _enc(tok, f"\n\nQuestion: What are the secret code words of the {names} offices? List all of them.\n"
                     f"Answer: The secret code word of the {cities[0]} office is")
    body = haystack_with(tok, length - len(head) - len(tail), [(d, _enc(tok, f)) for d, f in zip(depths, facts)], rng)
    score = lambda a: sum(phrase_found(a, p) for p in phrases) / k  # noqa: E731
    return Sample("multi-needle", head + body + tail, 12 * k, phrases, score, depth, length,
                  {"cities": cities, "depths": depths})


KV_INTRO = "Extract the value that belongs to the given key in the JSON object below.\n\nJSON data:\n"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def kv_sample(tok, length: int, depth: float, seed: int = 0) -> Sample:
    """A JSON object of UUID pairs filling ``length`` tokens; the pair at relative position ``depth`` is asked."""
    rng = random.Random(f"kv-{seed}-{length}-{depth}")
    head = _enc(tok, KV_INTRO + "{")
    probe = _enc(tok, f'"{_uuid(rng)}": "{_uuid(rng)}", ')
    tail_len = len(_enc(tok, '}\n\nKey: "' + _uuid(rng) + '"\nThe value associated with the specified key is: "'))
    n = max(2, (length - len(head) - tail_len) // max(1, len(probe)))
    pairs = []
    while True:
        pairs = [(_uuid(rng), _uuid(rng)) for _ in range(n)]
        body = _enc(tok, ", ".join(f'"{a}": "{b}"' for a, b in pairs))
        if len(head) + len(body) + tail_len <= length or n <= 2:
            break
        n = max(2, n - max(1, (len(head) + len(body) + tail_len - length) // len(probe) + 1))
    j = min(n - 1, max(0, round(depth * (n - 1))))
    key, value = pairs[j]
    tail = _enc(tok, '}\n\nKey: "' + key + '"\nThe value associated with the specified key is: "')
    return Sample("kv-retrieval", head + body + tail, 28, value, lambda a: word_match(a, value), depth, length,
                  {"n_keys": n, "key": key, "index": j})


def passkey_sample(tok, length: int, depth: float, seed: int = 0) -> Sample:
    from .longctx import passkey_prompt

    ids, key = passkey_prompt(tok, length, depth, seed)
    return Sample("passkey", ids[0].tolist(), 8, key, lambda a: float(key in a), depth, length)


BUILDERS = {"passkey": passkey_sample, "needle": needle_sample, "kv-retrieval": kv_sample,
            "multi-needle": multi_needle_sample}


def build_sample(task: str, tok, length: int, depth: float, seed: int = 0, **kw) -> Sample:
    if task not in BUILDERS:
        raise ValueError(f"unknown task {task!r}; synthetic tasks: {', '.join(BUILDERS)}")
    return BUILDERS[task](tok, length, depth, seed, **kw)


def kv_json(sample: Sample, tok) -> dict:
    """The JSON object inside a kv-retrieval prompt (for checks)."""
    text = tok.decode(sample.ids)
    start = text.index("{")
    end = text.index("}\n\nKey:")
    return json.loads(text[start:end + 1])

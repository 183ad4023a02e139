"""A torch-free token table: the bytes of every token id, special/EOS flags, the logits width.

:class:`TokenTable` is what the matcher needs from a tokenizer (``memgram.runtime.vocab`` builds
one from a Hugging Face tokenizer). It also builds the flat byte trie of the vocabulary that the
mask kernels walk: nodes in depth-first preorder, each with its byte, depth, the index one past
its subtree, and the token ids whose bytes end exactly there.

>>> t = TokenTable([b"a", b"ab", b"", b"b"], special=[False, False, True, False], eos_ids=[2])
>>> t.n_words, t.trie.n_nodes
(1, 3)
"""
from __future__ import annotations

import numpy as np

__all__ = ["TokenTable", "VocabTrie"]


class VocabTrie:
    """Flat byte trie of the non-special tokens (preorder).

    ``byte[i]``, ``depth[i]`` (1 for children of the root), ``end[i]`` (one past the subtree of
    node i), ``tok_off[i]:tok_off[i+1]`` the slice of ``tok_ids`` ending at node i."""

    def __init__(self, token_bytes, usable):
        root: dict = {}
        for tid, bs in enumerate(token_bytes):
            if not usable[tid] or not bs:
                continue
            d = root
            for b in bs:
                d = d.setdefault(b, {})
            d.setdefault(None, []).append(tid)
        byte, depth, end, toks, off = [], [], [], [], [0]
        stack = [(root, 0, -1, iter(sorted(k for k in root if k is not None)))]
        # iterative preorder
        while stack:
            d, dep, idx, it = stack[-1]
            b = next(it, None)
            if b is None:
                stack.pop()
                if idx >= 0:
                    end[idx] = len(byte)
                continue
            child = d[b]
            i = len(byte)
            byte.append(b)
            depth.append(dep + 1)
            end.append(-1)
            ids = child.get(None, [])
            toks.extend(ids)
            off.append(len(toks))
            stack.append((child, dep + 1, i, iter(sorted(k for k in child if k is not None))))
        self.byte = np.array(byte, np.int64)
        self.depth = np.array(depth, np.int64)
        self.end = np.array(end, np.int64)
        self.tok_ids = np.array(toks, np.int64)
        self.tok_off = np.array(off, np.int64)
        self.n_nodes = len(byte)
        self.max_depth = int(self.depth.max()) if len(byte) else 0


class TokenTable:
    """Token id → bytes, with special tokens, EOS ids and the logits width.

    ``token_bytes``: list of ``bytes`` indexed by token id (special tokens: anything, ignored);
    ``special``: bool per id (never produced by a grammar); ``eos_ids``: ids allowed exactly when the
    output is a full word; ``logits_width``: the model's logits dimension (≥ len(token_bytes); ids
    beyond the vocabulary are never allowed). Masks are int32 words: bit ``i % 32`` of word ``i // 32``."""

    def __init__(self, token_bytes, special=None, eos_ids=(), logits_width: int | None = None):
        self.token_bytes = [bytes(b) for b in token_bytes]
        n = len(self.token_bytes)
        self.special = np.zeros(n, bool) if special is None else np.asarray(special, bool).copy()
        if self.special.shape != (n,):
            raise ValueError("special must have one flag per token")
        self.eos_ids = np.array(sorted(set(int(e) for e in eos_ids)), np.int64)
        self.logits_width = int(logits_width or n)
        if self.logits_width < n:
            raise ValueError(f"logits width {self.logits_width} < vocabulary size {n}")
        if len(self.eos_ids) and (self.eos_ids.min() < 0 or self.eos_ids.max() >= self.logits_width):
            raise ValueError("EOS id outside the logits width")
        self.n_words = (self.logits_width + 31) // 32
        usable = ~self.special
        usable[self.eos_ids[self.eos_ids < n]] = False
        self.trie = VocabTrie(self.token_bytes, usable)
        self._key = None

    def __len__(self):
        return len(self.token_bytes)

    @property
    def key(self):
        """A hashable fingerprint (for per-(grammar, tokenizer) caches)."""
        if self._key is None:
            import hashlib

            h = hashlib.sha1()
            for b, s in zip(self.token_bytes, self.special.tolist()):
                h.update(len(b).to_bytes(4, "little") + b + (b"\1" if s else b"\0"))
            h.update(self.eos_ids.tobytes() + self.logits_width.to_bytes(8, "little"))
            self._key = h.hexdigest()
        return self._key

    def empty_mask(self) -> np.ndarray:
        return np.zeros(self.n_words, np.int32)

    @staticmethod
    def mask_to_ids(mask: np.ndarray) -> np.ndarray:
        """Allowed ids of an int32 bitmask (for tests and debugging)."""
        bits = np.unpackbits(np.asarray(mask, np.int32).view(np.uint8), bitorder="little")
        return np.nonzero(bits)[0]

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

import numba as nb
import numpy as np

__all__ = ["TokenTable", "VocabTrie", "Slice"]


class VocabTrie:
    """Flat byte trie of a set of tokens (preorder = lexicographic order of the distinct prefixes).

    ``byte[i]``, ``depth[i]`` (1 for children of the root), ``end[i]`` (one past the subtree of
    node i), ``tok_off[i]:tok_off[i+1]`` the slice of ``tok_ids`` ending at node i; ``root_nodes``/``root_bytes``
    the depth-1 nodes and their bytes, compact."""

    def __init__(self, token_bytes, usable):
        ends: dict = {}
        for tid, bs in enumerate(token_bytes):
            if usable[tid] and bs:
                ends.setdefault(bs, []).append(tid)
        prefixes = set()
        for bs in ends:
            for k in range(1, len(bs) + 1):
                prefixes.add(bs[:k])
        order = sorted(prefixes)
        n = len(order)
        depth = np.fromiter((len(p) for p in order), np.int64, n)
        byte = np.fromiter((p[-1] for p in order), np.int64, n)
        end = np.full(n, n, np.int64)
        stack: list = []        # indices of open nodes (a chain of ancestors)
        dl = depth.tolist()
        for i in range(n):
            d = dl[i]
            while stack and dl[stack[-1]] >= d:
                end[stack.pop()] = i
            stack.append(i)
        counts = np.fromiter((len(ends.get(p, ())) for p in order), np.int64, n)
        off = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=off[1:])
        toks = [t for p in order for t in ends.get(p, ())]
        self.byte = byte
        self.depth = depth
        self.end = end
        self.tok_ids = np.array(toks, np.int64)
        self.tok_off = off
        self.n_nodes = n
        self.max_depth = int(depth.max()) if n else 0
        self._index_root()

    def _index_root(self):
        self.root_nodes = np.flatnonzero(self.depth == 1).astype(np.int64)
        self.root_bytes = self.byte[self.root_nodes].copy()

    def restricted(self, keep: np.ndarray) -> "VocabTrie":
        """The trie of the tokens of this one with ``keep[id]`` (bool per token id), by filtering this one's arrays:
        a node stays iff a kept token ends in its subtree. Same arrays as building it from the kept tokens' bytes,
        in milliseconds instead of a Python pass over every prefix."""
        t = VocabTrie.__new__(VocabTrie)
        t.byte, t.depth, t.end, t.tok_ids, t.tok_off = _restricted(self.byte, self.depth, self.end, self.tok_ids,
                                                                   self.tok_off, np.asarray(keep, np.bool_))
        t.n_nodes = len(t.byte)
        t.max_depth = int(t.depth.max()) if t.n_nodes else 0
        t._index_root()
        return t


@nb.njit(cache=True, nogil=True)
def _restricted(byte, depth, end, tok_ids, tok_off, keep):
    """Arrays of :meth:`VocabTrie.restricted`: a node stays iff a kept token ends in its subtree (preorder kept)."""
    n = byte.shape[0]
    S = np.zeros(n + 1, np.int64)          # kept tokens ending at nodes before i
    for i in range(n):
        c = 0
        for j in range(tok_off[i], tok_off[i + 1]):
            if keep[tok_ids[j]]:
                c += 1
        S[i + 1] = S[i] + c
    K = np.zeros(n + 1, np.int64)          # kept nodes before i
    for i in range(n):
        K[i + 1] = K[i] + (1 if S[end[i]] > S[i] else 0)
    m = K[n]
    b2 = np.empty(m, np.int64)
    d2 = np.empty(m, np.int64)
    e2 = np.empty(m, np.int64)
    o2 = np.zeros(m + 1, np.int64)
    ids = np.empty(S[n], np.int64)
    k = 0
    for i in range(n):
        if K[i + 1] == K[i]:
            continue
        b2[k] = byte[i]
        d2[k] = depth[i]
        e2[k] = K[end[i]]
        x = o2[k]
        for j in range(tok_off[i], tok_off[i + 1]):
            if keep[tok_ids[j]]:
                ids[x] = tok_ids[j]
                x += 1
        o2[k + 1] = x
        k += 1
    return b2, d2, e2, ids, o2


class Slice:
    """Tokens whose first byte lies in X1 and all other bytes in X2 (the *inside* tokens), and the trie
    of the other tokens (``trie``). When the lexer's fate of an X-string depends only on its length,
    the inside tokens need no walk, only the others do (llguidance calls this a slicer).
    ``upto[k]``: uint32 mask words of the inside tokens of at most k bytes (``upto[-1]``: all of them)."""

    def __init__(self, table: "TokenTable", ins: np.ndarray):
        """``ins``: bool per token, the inside tokens (:meth:`TokenTable.inside`)."""
        self.trie = table.trie.restricted(~ins)
        lens = table.flat_bytes()[2]
        ids = np.flatnonzero(ins)
        self.max_len = int(lens[ids].max(initial=0))
        self.upto = _upto(ids, lens, self.max_len, table.n_words)


@nb.njit(cache=True, nogil=True)
def _upto(ids, lens, max_len, n_words):
    """uint32 [max_len + 1, n_words]: row k = the tokens ``ids`` of at most k bytes."""
    upto = np.zeros((max_len + 1, n_words), np.uint32)
    for t in ids:
        upto[lens[t], t >> 5] |= np.uint32(1) << np.uint32(t & 31)
    for k in range(1, max_len + 1):
        for w in range(n_words):
            upto[k, w] |= upto[k - 1, w]
    return upto


@nb.njit(cache=True, nogil=True)
def _inside(flat, off, x1, x2, usable):
    """bool per token: usable, non-empty, first byte in ``x1``, the others in ``x2`` (see :meth:`TokenTable.inside`)."""
    n = off.shape[0] - 1
    out = np.zeros(n, np.bool_)
    for t in range(n):
        lo = off[t]
        hi = off[t + 1]
        if not usable[t] or hi == lo or not x1[flat[lo]]:
            continue
        ok = True
        for i in range(lo + 1, hi):
            if not x2[flat[i]]:
                ok = False
                break
        out[t] = ok
    return out


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
        self.usable = usable
        self.trie = VocabTrie(self.token_bytes, usable)
        self._key = None
        self._slices: dict = {}

    def flat_bytes(self):
        """(uint8 concatenation of all token bytes, int64 offsets [n + 1], int64 lengths), cached."""
        if getattr(self, "_flat", None) is None:
            lens = np.array([len(b) for b in self.token_bytes], np.int64)
            off = np.zeros(len(lens) + 1, np.int64)
            np.cumsum(lens, out=off[1:])
            self._flat = (np.frombuffer(b"".join(self.token_bytes), np.uint8), off, lens)
        return self._flat

    def inside(self, first_bytes, rest_bytes) -> np.ndarray:
        """bool per token: usable, non-empty, first byte in ``first_bytes``, the others in ``rest_bytes``."""
        flat, off, _ = self.flat_bytes()
        return _inside(flat, off, np.asarray(first_bytes, np.bool_), np.asarray(rest_bytes, np.bool_), self.usable)

    def slice(self, first_bytes, rest_bytes=None, min_fraction: float = 0.75):
        """The :class:`Slice` for byte sets (bool [256]; ``rest_bytes`` defaults to ``first_bytes``),
        or None when fewer than ``min_fraction`` of the usable tokens lie inside (not worth a
        second trie); cached per table, the last ``MAX_SLICES`` byte sets (a slice holds a trie of
        the other tokens, up to a few MB; grammars that use one keep it alive)."""
        x1 = np.asarray(first_bytes, bool)
        x2 = x1 if rest_bytes is None else np.asarray(rest_bytes, bool)
        key = (x1.tobytes(), x2.tobytes(), min_fraction)
        if key in self._slices:
            return self._slices[key]
        ins = self.inside(x1, x2)
        sl = Slice(self, ins) if int(ins.sum()) >= min_fraction * int(self.usable.sum()) else None
        if len(self._slices) >= self.MAX_SLICES:
            del self._slices[next(iter(self._slices))]
        self._slices[key] = sl
        return sl

    MAX_SLICES = 64

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

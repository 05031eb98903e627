"""Stories: syndicated and near-duplicate copies of one article, grouped.

One wire story is printed by many outlets with a new headline, a dropped
paragraph or an added line. Each article gets a MinHash signature of its word
5-shingles (datasketch); an LSH index over the signatures proposes the
articles that may be copies of each other, and the connected groups of the
pairs that are are *stories*. Everything downstream counts a story once:
retrieval shows one chunk per story, the reader counts support per story, and
a citation lists the other outlets that carried the same text (`also_in`).

Two articles are copies when 90% of the shorter one's shingles are in the other
(`CONTAINMENT`, checked exactly on their texts): a reprint that drops or adds a
paragraph stays a copy of the original. LSH proposes the pairs to check, those
whose estimated Jaccard similarity is about `CANDIDATE` or more. On
realtimeqa-2023 (4,258 distinct texts) this groups 3 pairs, all reprints or
updates of one article, and leaves apart pages that share only a long CNN
gallery sidebar (0.83-0.896) and different reports of one event (0.5-0.88);
a 629-character caption inside two 35k-character pages has containment 1.0
but is never proposed, since LSH asks for overall similarity first.

The grouping is incremental and pure: `Stories.add` costs one LSH query and a
check of each pair it proposes, `remove` drops one article's pairs, and it
sees signatures and ids, never files. The indexer keeps the pairs in the index
manifest and loads the stored signatures only when an article is added; an
`Index` turns the pairs into groups when it loads.

Building the LSH index costs about 0.3 ms an article (1.3 s for realtimeqa's
4,258), while comparing one signature with all stored ones costs microseconds.
So an update of up to `DIRECT_MAX` fresh articles skips the LSH and proposes
every stored article whose estimated Jaccard similarity (the share of equal
signature values, MinHash's own estimate) is `CANDIDATE` or more: the rule the
LSH approximates, without its misses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

__all__ = ["NUM_PERM", "CANDIDATE", "CONTAINMENT", "SHINGLE", "DIRECT_MAX", "Stories", "signature", "signatures", "containment", "groups_of"]

NUM_PERM = 128
SCHEME = "affine32"  # stored signatures are only comparable with ones made by the same scheme
CANDIDATE = 0.6
CONTAINMENT = 0.9
SHINGLE = 5
DIRECT_MAX = 32  # fresh articles up to which signatures are compared directly, without an LSH index
RULE = f"shingle={SHINGLE};candidate={CANDIDATE};containment={CONTAINMENT}"  # pairs found under another rule are found again
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[str]:
    """The text's runs of ``SHINGLE`` words (lowercased), or the whole text when shorter."""
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def containment(a: str, b: str) -> float:
    """The share of the shorter text's shingles that the other text has too."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


def signature(text: str) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32 values) of ``text``'s word shingles."""
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return m.hashvalues.astype(np.uint32)


def signatures(texts: Sequence[str]) -> np.ndarray:
    """One signature row per text."""
    out = np.zeros((len(texts), NUM_PERM), dtype=np.uint32)
    for i, t in enumerate(texts):
        out[i] = signature(t)
    return out


class Stories:
    """Articles' signatures in an LSH index, and the near-duplicate pairs among them.

    ``text_of(id)`` gives an article's text, to check a pair LSH proposes (called only then).
    With ``lsh=False`` candidates come from comparing signatures directly (for a few additions;
    see the module docstring)."""

    def __init__(self, text_of: Callable[[str], str] | None = None, lsh: bool = True) -> None:
        from datasketch import MinHashLSH

        self.text_of = text_of
        self._lsh = MinHashLSH(threshold=CANDIDATE, num_perm=NUM_PERM) if lsh else None
        self._sigs: dict[str, np.ndarray] = {}
        self.pairs: dict[str, dict[str, float]] = {}  # id -> {near-duplicate id: similarity}
        # Without the LSH: the loaded signatures as the one matrix they came in, the loaded ids
        # removed since (their rows no longer count), and the ids added since, compared one by one.
        self._loaded: tuple[list[str], np.ndarray] = ([], np.zeros((0, NUM_PERM), dtype=np.uint32))
        self._gone: set[str] = set()
        self._later: list[str] = []

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._sigs

    def __len__(self) -> int:
        return len(self._sigs)

    def load(self, ids: Sequence[str], sigs: np.ndarray, pairs: Iterable[Sequence] = ()) -> None:
        """Put known signatures in without looking for pairs (they are given, from the manifest)."""
        if self._lsh is None:
            rows = np.asarray(sigs, dtype=np.uint32).reshape(-1, NUM_PERM)
            self._loaded = (self._loaded[0] + list(ids), np.concatenate([self._loaded[1], rows]))
            self._sigs.update(zip(ids, rows))
        else:
            with self._lsh.insertion_session() as session:
                for doc_id, row in zip(ids, sigs):
                    self._sigs[doc_id] = row
                    session.insert(doc_id, _sketch(row))
        for a, b, s in pairs:
            if a in self._sigs and b in self._sigs:
                self._link(a, b, float(s))

    def add(self, doc_id: str, sig: np.ndarray) -> list[str]:
        """Add one article; returns the articles it was found to nearly duplicate."""
        if doc_id in self._sigs:
            self.remove(doc_id)
        m = _sketch(sig) if self._lsh is not None else None
        found = []
        for other in self._candidates(sig, m):
            if self.text_of is None:
                raise ValueError("Stories needs text_of to check the pairs it finds")
            s = containment(self.text_of(doc_id), self.text_of(other))
            if s >= CONTAINMENT:
                self._link(doc_id, other, s)
                found.append(other)
        if self._lsh is not None:
            self._lsh.insert(doc_id, m)
        else:
            self._later.append(doc_id)
        self._sigs[doc_id] = sig
        return found

    def _candidates(self, sig: np.ndarray, sketch) -> list[str]:
        if self._lsh is not None:
            return self._lsh.query(sketch)
        ids, rows = self._loaded
        near = [ids[j] for j in np.flatnonzero((rows == sig).mean(axis=1) >= CANDIDATE) if ids[j] not in self._gone]
        return near + [i for i in self._later if (self._sigs[i] == sig).mean() >= CANDIDATE]

    def remove(self, doc_id: str) -> None:
        """Take an article out (deleted, or about to be re-added because it changed)."""
        if doc_id not in self._sigs:
            return
        if self._lsh is not None:
            self._lsh.remove(doc_id)
        elif doc_id in self._later:
            self._later.remove(doc_id)
        else:
            self._gone.add(doc_id)
        del self._sigs[doc_id]
        for other in self.pairs.pop(doc_id, {}):
            self.pairs.get(other, {}).pop(doc_id, None)
            if not self.pairs.get(other):
                self.pairs.pop(other, None)

    def pair_list(self) -> list[list]:
        """Every near-duplicate pair once, as ``[id, id, containment]`` (for the manifest)."""
        return sorted([a, b, round(s, 4)] for a, near in self.pairs.items() for b, s in near.items() if a < b)

    def _link(self, a: str, b: str, s: float) -> None:
        self.pairs.setdefault(a, {})[b] = s
        self.pairs.setdefault(b, {})[a] = s


def _sketch(sig: np.ndarray):
    # A LeanMinHash holds just the values: a MinHash would draw its 128 permutations again for
    # every stored article (most of an update's time on a 4,000-article index).
    from datasketch import LeanMinHash

    return LeanMinHash(seed=1, hashvalues=sig, scheme=SCHEME)


def groups_of(pairs: Iterable[Sequence], order: dict[str, tuple]) -> dict[str, list[str]]:
    """Each grouped article's story: its group's members, in ``order`` (a sort key per id,
    e.g. (published, id)); articles in no pair are left out (each is a story of its own)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, *_ in pairs:
        if a in order and b in order:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    members: dict[str, list[str]] = {}
    for x in parent:
        members.setdefault(find(x), []).append(x)
    out: dict[str, list[str]] = {}
    for group in members.values():
        ordered = sorted(group, key=lambda i: order[i])
        for x in ordered:
            out[x] = ordered
    return out

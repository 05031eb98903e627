"""The old index format (segment folders, before `rag.store.sqlite`), read only to migrate from it.

An index folder of the old format has a ``CURRENT`` file naming a ``gen-NNNNNN``
folder whose ``manifest.json`` lists the corpus roots and the segments; each
``seg-NNNNNN`` folder holds ``vectors.npy`` and ``hashes.npy`` (a 64-bit blake2b of
each chunk's text). Migrating rebuilds the store from the roots, and takes each
chunk's vector from the old segments where its text is the same, so a 96k-chunk
index migrates without being embedded again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .schema import text_hash64

__all__ = ["old_manifest", "OldVectors"]


def old_manifest(folder: Path) -> dict | None:
    """The live manifest of an old-format index folder ({} when unreadable), or None when it is not one."""
    pointer = folder / "CURRENT"
    if not pointer.is_file():
        return None
    try:
        return json.loads((folder / pointer.read_text().strip() / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class OldVectors:
    """The vectors an old-format index holds, found by chunk text."""

    def __init__(self, folder: Path, manifest: dict) -> None:
        self._parts = []
        for seg in manifest.get("segments", []):
            try:
                hashes = np.load(folder / seg["name"] / "hashes.npy")
                vectors = np.load(folder / seg["name"] / "vectors.npy", mmap_mode="r")
            except (OSError, ValueError, KeyError):
                continue  # a damaged segment only costs embedding its chunks again
            if len(hashes) == len(vectors):
                # The same 64-bit blake2b as `text_hash64`, stored unsigned: viewed signed, they compare.
                signed = np.ascontiguousarray(hashes, dtype=np.uint64).view(np.int64)
                self._parts.append(({int(h): r for r, h in enumerate(signed.tolist())}, vectors))

    def find(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = []
        for t in texts:
            h = text_hash64(t)
            out.append(next((np.array(v[rows[h]]) for rows, v in self._parts if h in rows), None))
        return out

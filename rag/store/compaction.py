"""Which vector files a commit leaves: the old ones, one new file, and merges when they pile up.

A commit that adds chunks writes them as one new file, so changing one article
of a 96k-chunk store writes a few rows, not 150 MB. Files are merged back when
they pile up: past `MAX_FILES` every file but the largest is rewritten as one,
and once more than `MAX_STALE` of all rows are replaced or deleted everything is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .vectors import VectorFile, read_file_keys, read_file_vectors, write_vectors

if TYPE_CHECKING:
    from .sqlite import SqliteStore
    from .sqlite_write import _Pending

__all__ = ["plan_files"]


def plan_files(store: SqliteStore, files: list[VectorFile], pending: _Pending, generation: int) -> list[VectorFile]:
    """Write the commit's vector files; returns the files the new generation is made of."""
    from .sqlite_write import MAX_FILES, MAX_STALE

    folder = store.folder / "vectors"
    # The key is the rowid, so SQLite reads it out in order without a sort.
    live = np.fromiter((k for (k,) in store._conn().execute("SELECT key FROM chunks ORDER BY key")), dtype=np.int64)
    new_keys = np.concatenate(pending.keys) if pending.keys else np.zeros(0, np.int64)
    new_vecs = np.concatenate(pending.vectors) if pending.vectors else None
    keys_of = {f.name: read_file_keys(folder, f.name) for f in files}
    alive = {n: np.isin(k, live, assume_unique=True) for n, k in keys_of.items()}
    files = [f for f in files if alive[f.name].any()]  # a file with no live row is dropped outright
    rows = sum(f.rows for f in files) + len(new_keys)
    stale = sum(int((~alive[f.name]).sum()) for f in files)
    merge: list[VectorFile] = []
    if files and stale > MAX_STALE * rows:
        merge = files
    elif len(files) + (1 if len(new_keys) else 0) > MAX_FILES:
        largest = max(files, key=lambda f: int(alive[f.name].sum()))
        merge = [f for f in files if f is not largest]
    if not merge and not len(new_keys):
        return files
    keys_parts, vec_parts = [], []
    for f in merge:
        keep = alive[f.name]
        keys_parts.append(keys_of[f.name][keep])
        vec_parts.append(np.asarray(read_file_vectors(folder, f.name, mmap=True)[keep]))
    if len(new_keys):
        keys_parts.append(new_keys)
        vec_parts.append(new_vecs)
    written = write_vectors(folder, f"vec-{generation:06d}", np.concatenate(keys_parts), np.concatenate(vec_parts))
    return [f for f in files if f not in merge] + [written]

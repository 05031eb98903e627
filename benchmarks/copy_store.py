"""Copy one store into another, vectors included (nothing is embedded again).

    python benchmarks/copy_store.py /tmp/rtqa-index milvus:/tmp/rtqa-milvus.db

Used to measure the Milvus backend on realtimeqa-2023 without embedding 96k chunks again:
the copy holds the same articles, chunks, vectors, signatures and manifest as the source.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("--batch", type=int, default=200, help="articles per upsert")
    args = ap.parse_args()

    import numpy as np

    from rag.store import StoredArticle, open_store

    src, dst = open_store(args.source), open_store(args.target)
    manifest = src.manifest()
    catalogue = src.catalogue()
    sigs = src.signatures()
    ids = list(catalogue)
    t = time.perf_counter()
    with dst.writing():
        dst.clear()
        for a in range(0, len(ids), args.batch):
            part = ids[a : a + args.batch]
            arts = src.articles(part)
            chunk_ids = [f"{i}-{j:04d}" for i in part for j in range(catalogue[i].chunks)]
            chunks = src.chunks(chunk_ids)
            vectors = np.stack([v for v in src.reusable([c.text for c in chunks])]) if chunks else np.zeros((0, 1))
            dst.upsert([StoredArticle(x, catalogue[x.id].digest, catalogue[x.id].text_hash, sigs.get(x.id)) for x in arts],
                       chunks, vectors)
            print(f"\r{a + len(part)}/{len(ids)} articles", end="", file=sys.stderr, flush=True)
        dst.commit(manifest)
    print(f"\ncopied {len(ids)} articles in {time.perf_counter() - t:.0f} s; {dst.stats().chunks} chunks", file=sys.stderr)


if __name__ == "__main__":
    main()

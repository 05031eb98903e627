"""Fit the retrieval weights by week-wise cross-validation on a dated gold set.

    python benchmarks/fit_retrieval.py --index IDX --gold ../shared/data/realtimeqa-2023/gold.jsonl

Grid-searches the z-score fusion's dense weight, the title lists' weight and the
recency boost's weight (`rag.index.RECENCY_WEIGHT`), scoring recall@5 as
`rag eval --retrieval-only` does (an evidence article among the k sources shown,
each question asked on its gold ``date``). Folds are whole weeks; for each
fold the grid point best on the other folds is scored on it, and every fold's
figure is printed, with the point best over all questions (the shipped one).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rag.index as index_module  # noqa: E402
from rag.answer.query import plan  # noqa: E402
from rag.dates import parse_as_of  # noqa: E402
from rag.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.evaluation.gold import load_gold  # noqa: E402
from rag.index import Index  # noqa: E402

FOLDS = 6
GRID = {"dense": (0.5, 0.65, 0.8), "titles": (0.0, 0.2, 0.35, 0.5), "recency": (0.0, 0.05, 0.2)}


def hits(index: Index, embedder, items, point) -> list[bool]:
    index.retriever.dense_weight, index.retriever.title_weight, index_module.RECENCY_WEIGHT = point
    out = []
    for g in items:
        p = plan(index, embedder, g.question, g.history or None, k=5, as_of=parse_as_of(g.date), analyse=False)
        out.append(any(x.chunk.doc_id in g.evidence_docs for x in p.passages))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--json", default=None, help="write the grid and the folds to this file")
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    index = Index.load(args.index, embedder)
    items = [g for g in load_gold(args.gold) if g.date]
    weeks = sorted({date.fromisoformat(g.date).isocalendar()[:2] for g in items})
    fold = {w: k % FOLDS for k, w in enumerate(weeks)}
    folds = [fold[date.fromisoformat(g.date).isocalendar()[:2]] for g in items]
    grid = {}
    for point in itertools.product(GRID["dense"], GRID["titles"], GRID["recency"]):
        grid[point] = hits(index, embedder, items, point)
        print(point, round(sum(grid[point]) / len(items), 3), file=sys.stderr, flush=True)
    report = []
    for f in range(FOLDS):
        train = [i for i, x in enumerate(folds) if x != f]
        test = [i for i, x in enumerate(folds) if x == f]
        if not test:  # fewer weeks than folds (a small gold set)
            continue
        best = max(grid, key=lambda p: sum(grid[p][i] for i in train))
        report.append({"fold": f, "questions": len(test), "point": best,
                       "recall@5": round(sum(grid[best][i] for i in test) / len(test), 3)})
    best = max(grid, key=lambda p: sum(grid[p]))
    out = {"best": {"point": best, "recall@5": round(sum(grid[best]) / len(items), 3)}, "folds": report,
           "grid": {str(p): round(sum(v) / len(items), 4) for p, v in grid.items()}}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

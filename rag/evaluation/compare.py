"""Compare two evaluation results: each metric's change and the questions that flipped.

A question flips when it is judged correct in one run and not in the other
(for retrieval-only runs: its evidence is in the top k in one run only).
Questions are matched by id; ids in only one run are counted, not compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RagError
from .metrics import retrieved_within

__all__ = ["Comparison", "Flip", "compare_results", "load_result"]


@dataclass(frozen=True)
class Flip:
    id: str
    question: str
    before: bool
    after: bool
    answer_before: str | None
    answer_after: str | None


@dataclass
class Comparison:
    metrics: list[tuple[str, float | None, float | None, float | None]]  # name, A, B, B - A
    fixed: list[Flip] = field(default_factory=list)
    broken: list[Flip] = field(default_factory=list)
    only_in_a: int = 0
    only_in_b: int = 0

    def to_dict(self) -> dict:
        return {
            "metrics": [{"name": n, "a": a, "b": b, "change": d} for n, a, b, d in self.metrics],
            "fixed": [f.__dict__ for f in self.fixed],
            "broken": [f.__dict__ for f in self.broken],
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
        }


def load_result(path: str | Path) -> dict:
    """A result file written by ``rag eval --json``; a one-line error if it is not one."""
    path = Path(path)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"result file not found: {path}") from None
    except (ValueError, UnicodeDecodeError):
        raise RagError(f"{path}: not a JSON file written by `rag eval --json`") from None
    if not isinstance(result, dict) or not isinstance(result.get("metrics"), dict) or not isinstance(result.get("rows"), list):
        raise RagError(f"{path}: no 'metrics' and 'rows'; write it with `rag eval --json`")
    return result


def _passed(row: dict, k: int) -> bool | None:
    """Correct, or for a retrieval-only row, evidence in the top k (None: not judged)."""
    if row.get("answer") is None:
        if not row["gold"]["answerable"]:
            return None
        return retrieved_within(row, k)
    return bool(row.get("correct"))


def compare_results(a: dict, b: dict) -> Comparison:
    names = list(a["metrics"]) + [n for n in b["metrics"] if n not in a["metrics"]]
    metrics = []
    for name in names:
        va, vb = a["metrics"].get(name), b["metrics"].get(name)
        numeric = isinstance(va, (int, float)) and isinstance(vb, (int, float))
        metrics.append((name, va, vb, vb - va if numeric else None))
    ka, kb = int(a.get("settings", {}).get("k", 5)), int(b.get("settings", {}).get("k", 5))
    rows_a = {r["id"]: r for r in a["rows"]}
    rows_b = {r["id"]: r for r in b["rows"]}
    result = Comparison(
        metrics=metrics,
        only_in_a=len(rows_a.keys() - rows_b.keys()),
        only_in_b=len(rows_b.keys() - rows_a.keys()),
    )
    for qid, ra in rows_a.items():
        rb = rows_b.get(qid)
        if rb is None:
            continue
        before, after = _passed(ra, ka), _passed(rb, kb)
        if before is not None and after is not None and before != after:
            flip = Flip(qid, ra["question"], before, after, ra.get("answer"), rb.get("answer"))
            (result.fixed if after else result.broken).append(flip)
    return result

"""Metric definitions, as pure functions over scored rows.

Answers are compared after `rag.text.normalize_answer` (lowercase, accents
and curly quotes folded, "2,000" -> "2000", punctuation and a/an/the dropped)
and with citation markers removed.

- accuracy: answerable questions whose normalised answer contains a normalised
  gold answer (and every ``all_of`` string, when the row lists some) without abstaining, plus unanswerable questions abstained,
  over all questions. ``answerable_accuracy`` is the same over answerable ones.
- exact_match / token_f1: the answer against the best gold answer (answerable only).
- abstention_recall: unanswerable questions abstained / unanswerable questions.
- false_abstention_rate: answerable questions abstained / answerable questions.
- citation_precision: citations whose passage contains a gold evidence string
  (or, when the item has none, a gold answer) / citations, on answerable questions.
- truthfulness: (right answers - wrong answers) / all questions, where an answer
  to an unanswerable question is wrong and an abstention counts 0 (CRAG's score):
  below 0 means answering did more harm than saying nothing.
- short_accuracy: short answers (``Answer.short``) that contain a gold answer /
  short answers given; short_share: answered questions that led with one.
- cited_share: non-abstained answers with at least one citation.
- unsupported_share: answer sentences that their own citations do not support.
- recall@k: answerable questions where a top-k chunk contains a gold evidence
  string, or is from a gold evidence_docs article, or (neither given) contains
  a gold answer; mrr: mean of 1/rank of that first chunk (0 when none).
- latency_*_p50 / _p95: nearest-rank percentiles of each question's retrieval
  time, time to the first streamed text, and total time, in seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..text import normalize_answer

__all__ = ["answer_correct", "exact_match", "token_f1", "percentile", "compute_metrics", "score_row", "chunk_hits", "retrieved_within"]

_MARKERS = re.compile(r"\s*\[\d+\]")


def _clean(answer: str) -> str:
    return normalize_answer(_MARKERS.sub("", answer))


def _contains(text: str, phrase: str) -> bool:
    """Whole-word containment of normalised strings ("2000" is not in "20000")."""
    return bool(phrase) and f" {phrase} " in f" {text} "


def answer_correct(
    answer: str, golds: Sequence[str], answerable: bool, abstained: bool, all_of: Sequence[str] = ()
) -> bool:
    """Right when it holds any gold answer and every ``all_of`` string (an unanswerable question
    is right only when abstained)."""
    if not answerable:
        return abstained
    if abstained:
        return False
    a = _clean(answer)
    return any(_contains(a, normalize_answer(g)) for g in golds) and all(_contains(a, normalize_answer(g)) for g in all_of)


def exact_match(answer: str, golds: Sequence[str]) -> bool:
    a = _clean(answer)
    return any(a == normalize_answer(g) for g in golds)


def token_f1(answer: str, golds: Sequence[str]) -> float:
    a = _clean(answer).split()
    best = 0.0
    for g in golds:
        gt = normalize_answer(g).split()
        common = sum((Counter(a) & Counter(gt)).values())
        if not a or not gt or not common:
            continue
        p, r = common / len(a), common / len(gt)
        best = max(best, 2 * p * r / (p + r))
    return best


def chunk_hits(text: str, doc_id: str, evidence: Sequence[str], evidence_docs: Sequence[str], answers: Sequence[str]) -> bool:
    """Does a chunk hold the gold evidence (see the module docstring for the rule)?"""
    if evidence:
        return any(e in text for e in evidence)
    if evidence_docs:
        return doc_id in evidence_docs
    norm = normalize_answer(text)
    return any(_contains(norm, normalize_answer(a)) for a in answers)


def citation_ok(passage: str, evidence: Sequence[str], answers: Sequence[str]) -> bool:
    if evidence:
        return any(e in passage for e in evidence)
    norm = normalize_answer(passage)
    return any(_contains(norm, normalize_answer(a)) for a in answers)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, min(len(s), int(-(-q * len(s) // 100))))
    return s[rank - 1]


def score_row(row: dict) -> dict:
    """Add the per-question judgements to a result row (see `rag.evaluation.runner`).

    A retrieval-only row (``answer`` is None) gets only ``hit_rank``.
    """
    gold = row["gold"]
    rank = None
    for i, ch in enumerate(row.get("retrieved", []), start=1):
        if chunk_hits(ch["text"], ch["doc_id"], gold["evidence"], gold["evidence_docs"], gold["answers"]):
            rank = i
            break
    row["hit_rank"] = rank
    if row["answer"] is None:
        return row
    answerable = gold["answerable"]
    row["correct"] = answer_correct(row["answer"], gold["answers"], answerable, row["abstained"], gold.get("all_of", ()))
    row["exact"] = answerable and not row["abstained"] and exact_match(row["answer"], gold["answers"])
    row["f1"] = token_f1(row["answer"], gold["answers"]) if answerable and not row["abstained"] else 0.0
    row["citations_ok"] = [citation_ok(c["text"], gold["evidence"], gold["answers"]) for c in row["citations"]]
    return row


def retrieved_within(row: dict, k: int) -> bool:
    """Whether a scored row's first evidence chunk ranks within the top ``k``."""
    return row.get("hit_rank") is not None and row["hit_rank"] <= k


def _ratio(n: float, d: float) -> float | None:
    return n / d if d else None


def _latency(rows: Sequence[dict], name: str) -> dict:
    values = [r["timings"].get(name, 0.0) for r in rows]
    return {f"latency_{name}_p50": percentile(values, 50), f"latency_{name}_p95": percentile(values, 95)}


def compute_metrics(rows: Sequence[dict], k: int) -> dict:
    """Aggregate scored rows into the figures of the module docstring (None where undefined).

    Answer and citation figures appear unless every row is retrieval-only.
    """
    ans = [r for r in rows if r["gold"]["answerable"]]
    una = [r for r in rows if not r["gold"]["answerable"]]
    hits = [r for r in ans if retrieved_within(r, k)]
    metrics = {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(una),
        f"recall@{k}": _ratio(len(hits), len(ans)),
        "mrr": _ratio(sum(1 / r["hit_rank"] for r in ans if r["hit_rank"]), len(ans)),
    }
    if rows and all(r["answer"] is None for r in rows):
        return metrics | _latency(rows, "retrieval")
    answered = [r for r in rows if not r["abstained"]]
    right = sum(r["correct"] for r in answered)
    shorts = [r for r in answered if r.get("short")]
    short_right = sum(r["gold"]["answerable"] and answer_correct(r["short"], r["gold"]["answers"], True, False) for r in shorts)
    cites = [ok for r in ans for ok in r["citations_ok"]]
    sentences = sum(r.get("sentences", 0) for r in answered)
    unsupported = sum(r.get("unsupported", 0) for r in answered)
    return (
        metrics
        | {
            "accuracy": _ratio(sum(r["correct"] for r in rows), len(rows)),
            "answerable_accuracy": _ratio(sum(r["correct"] for r in ans), len(ans)),
            "truthfulness": _ratio(right - (len(answered) - right), len(rows)),
            "short_accuracy": _ratio(short_right, len(shorts)),
            "short_share": _ratio(len(shorts), len(answered)),
            "exact_match": _ratio(sum(r["exact"] for r in ans), len(ans)),
            "token_f1": _ratio(sum(r["f1"] for r in ans), len(ans)),
            "abstention_recall": _ratio(sum(r["abstained"] for r in una), len(una)),
            "false_abstention_rate": _ratio(sum(r["abstained"] for r in ans), len(ans)),
            "citation_precision": _ratio(sum(cites), len(cites)),
            "cited_share": _ratio(sum(bool(r["citations"]) for r in answered), len(answered)),
            "unsupported_share": _ratio(unsupported, sentences),
        }
        | _latency(rows, "retrieval")
        | _latency(rows, "first_token")
        | _latency(rows, "total")
    )

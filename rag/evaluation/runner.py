"""Ask every gold question and collect scored rows; Ctrl-C keeps what is done."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from ..answer.compose import AS_OF_NOTE, DATE_LABEL, DIFFER_LEAD, DIGEST_SEPARATOR, VERDICT
from ..answer.question import statement
from ..answer.verify import check_support, strip_markers
from ..text import split_sentences
from .gold import GoldItem
from .metrics import compute_metrics, score_row

__all__ = ["EvalRow", "run_eval", "count_unsupported", "eval_result"]


@dataclass
class EvalRow:
    id: str
    question: str
    gold: dict
    answer: str | None  # None in a retrieval-only run
    abstained: bool
    mode: str
    short: str | None = None
    confidence: float | None = None
    withheld: str | None = None  # the answer an abstention held back (for the risk-coverage curve)
    citations: list[dict] = field(default_factory=list)
    retrieved: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    sentences: int = 0
    unsupported: int = 0


def count_unsupported(answer) -> tuple[int, int]:
    """(sentences, sentences not supported by the quotes they cite) of an answer.

    Each sentence is checked against the sentences it cites with the verifier in its strict
    setting (one cited sentence must carry the whole claim), stricter than the check that
    let the sentence through; a short answer is checked as a copy of a cited sentence, and the
    assistant's own notes that lead an answer ("Taking “he” to mean …") are not claims.
    """
    by_n = {c.n: c.quote for c in answer.citations}
    text = answer.text
    for note in getattr(answer, "notes", None) or []:  # "Taking “he” to mean …": the assistant's, not a claim
        if text.startswith(note):
            text = text[len(note) :].lstrip()
    bad = claims = 0
    # The answer reads: notes, then "True." for a verdict, then the short answer, then the quotes.
    if text.startswith(VERDICT) and (stated := statement(answer.question)) is not None:
        # "True." says the question's own statement holds: one cited sentence must state it.
        claims, text = 1, text[len(VERDICT) :]
        bad += not check_support(stated, list(by_n.values()), strict=True).supported
    short = getattr(answer, "short", None)
    if short and text.startswith(short.rstrip(" .")):
        text = AS_OF_NOTE.sub("", text[len(short.rstrip(" .")) :], count=1).lstrip(". ")
        bad += not any(short.rstrip(" .") in c.quote for c in answer.citations)
    if (m := DIFFER_LEAD.match(text)) is not None:
        # "Reports differ on Mar 4: 12 (Ledger) [1] against 14 (Courier) [2]." — each value must be
        # copied from the sentence it cites; the outlets and the day are the articles' own.
        values = re.findall(r"(.+?) \([^()]*\) \[(\d+)\]", m.group(1).replace(" against ", "\n"))
        claims, text = claims + len(values), text[m.end() :].lstrip()
        bad += sum(not (int(n) in by_n and v.strip() in by_n[int(n)]) for v, n in values)
    # A digest's items ("Mar 2: <sentence> [1] · Mar 3: …") are quotes under their articles' dates,
    # each read on its own (a headline item has no full stop to end it).
    sentences = [s.text for part in text.split(DIGEST_SEPARATOR) for s in split_sentences(DATE_LABEL.sub(" ", part))]
    for s in sentences:
        cited = [by_n[int(n)] for n in re.findall(r"\[(\d+)\]", s) if int(n) in by_n]
        claim = strip_markers(s)
        if not cited or (claim not in cited and not check_support(claim, cited, strict=True).supported):
            bad += 1
    return len(sentences) + bool(short) + claims, bad



def _passages(passages) -> list[dict]:
    return [
        {"chunk_id": p.chunk.id, "doc_id": p.chunk.doc_id, "score": round(float(p.score), 6), "text": p.chunk.text}
        for p in passages
    ]


def _answer_row(assistant, item: GoldItem, mode: str | None, k: int) -> EvalRow:
    t0 = time.perf_counter()
    answer = assistant.ask(item.question, history=item.history or None, mode=mode, k=k, as_of=item.date)
    timings = dict(answer.timings)
    timings.setdefault("total", time.perf_counter() - t0)
    n_sent, n_bad = count_unsupported(answer) if not answer.abstained else (0, 0)
    return EvalRow(
        id=item.id,
        question=item.question,
        gold=asdict(item),
        answer=answer.text,
        abstained=answer.abstained,
        mode=answer.mode,
        short=answer.short,
        confidence=answer.confidence,
        withheld=answer.withheld,
        citations=[c.to_dict() for c in answer.citations],
        retrieved=_passages(answer.passages),
        timings=timings,
        sentences=n_sent,
        unsupported=n_bad,
    )


def _retrieval_row(assistant, item: GoldItem, k: int) -> EvalRow:
    t0 = time.perf_counter()
    passages = assistant.retrieve(item.question, item.history or None, k=k, as_of=item.date)
    elapsed = time.perf_counter() - t0
    return EvalRow(
        id=item.id,
        question=item.question,
        gold=asdict(item),
        answer=None,
        abstained=False,
        mode="retrieval-only",
        retrieved=_passages(passages),
        timings={"retrieval": elapsed, "total": elapsed},
    )


def run_eval(
    assistant,
    items: Sequence[GoldItem],
    *,
    mode: str | None = None,
    k: int = 5,
    retrieval_only: bool = False,
    on_row: Callable[[dict], None] | None = None,
) -> tuple[dict, list[dict], bool]:
    """Ask (or, with ``retrieval_only``, only retrieve for) every item, in order.

    Returns (metrics, scored rows, interrupted). Ctrl-C stops the run and keeps
    the rows done so far, so their figures can still be shown and saved.
    """
    rows: list[dict] = []
    interrupted = False
    try:
        for item in items:
            row = _retrieval_row(assistant, item, k) if retrieval_only else _answer_row(assistant, item, mode, k)
            scored = score_row(asdict(row))
            rows.append(scored)
            if on_row:
                on_row(scored)
    except KeyboardInterrupt:
        interrupted = True
    return compute_metrics(rows, k), rows, interrupted


def eval_result(assistant, gold, metrics: dict, rows: list[dict], interrupted: bool, **run) -> dict:
    """The JSON payload of a run (what ``rag eval --json`` writes and the report reads):
    the figures, everything they depend on (settings, machine, versions) and the rows."""
    from datetime import datetime, timezone

    from ..runinfo import assistant_settings, machine_info, versions

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "settings": {"gold": str(gold), **run, **assistant_settings(assistant)},
        "machine": machine_info(),
        "versions": versions(),
        "metrics": metrics,
        "rows": rows,
    }

"""Read gold questions for fitting: every question planned and read exactly as answering
does (`rag.answer.query`, `rag.answer.reader`), with its gold ``date`` as ``as_of``, kept as
an :class:`Item` of features and labels that `rag.answer.fit` fits on. Also the made-up
unanswerable variants (answer hidden, or asked of an unrelated index) and the week folds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from ..dates import parse_as_of, today
from ..store.base import Where
from ..text import normalize_answer
from .candidates import NOUN_CHUNK, spans_of
from .confidence import CONFIDENCE_FEATURES
from .features import SENTENCE_FEATURES, SPAN_FEATURES
from .nlp import gloss
from .reader import Reader
from .score import LinearModel, Weights

FOLDS = 6


@dataclass
class Item:
    """One gold question as read: its features, labels and what its answer texts would be."""

    id: str
    fold: int
    answers: list[str]
    factoid: bool
    answer_class: str
    x: np.ndarray  # sentence features
    y: np.ndarray  # sentence holds a gold answer
    texts: list[str]  # each sentence with its context, as an answer would quote it
    read: tuple  # (question, candidates, spans, their articles, focus similarity by span text)
    source: str = ""  # the gold file it came from


def holds_answer(text: str, answers: list[str]) -> bool:
    """Whether ``text`` holds one of the gold ``answers`` as whole words (the fitting label of
    a quoted answer)."""
    t = f" {normalize_answer(text)} "
    return any(a and f" {a} " in t for a in (normalize_answer(x) for x in answers))


def span_matches(span: str, answers: list[str]) -> bool:
    """Whether a short answer is a gold answer, within one or holding one, as whole words."""
    s = normalize_answer(span)
    return any(g and s and (f" {g} " in f" {s} " or f" {s} " in f" {g} ") for g in (normalize_answer(a) for a in answers))


def placeholder_weights() -> Weights:
    """All-zero models of the right shapes: features are measured before anything is fitted."""
    def zero(names):
        n = len(names)
        return LinearModel(tuple(names), np.zeros(n), np.ones(n), np.zeros(n), 0.0)

    return Weights(zero(SENTENCE_FEATURES), zero(SPAN_FEATURES), zero(CONFIDENCE_FEATURES), {}, 0.5, 0.5, {}, {})


def _without_answer(index, answers: list[str]) -> Where:
    """Only the articles that never mention a gold answer."""
    texts = getattr(index, "_normalised", None)
    if texts is None:
        texts = index._normalised = {a: f" {normalize_answer(x.text)} " for a, x in index.articles.items()}
    golds = [f" {normalize_answer(a)} " for a in answers if normalize_answer(a)]
    ok = {a for a, t in texts.items() if not any(g in t for g in golds)}
    return Where(articles=frozenset(ok))


def collect(
    gold: str, index_dir: str, embedder, fold_of, withhold_every: int = 0, elsewhere: bool = False, blank_every: int = 0,
    only: tuple[str, ...] = (),
) -> list[Item]:
    """Read every gold question; with ``withhold_every`` N, every Nth answerable dated question is
    also read with every article that mentions its answer hidden, as an unanswerable question on
    its topic (the realistic kind: the story is there, the fact is not). With ``blank_every`` N,
    every Nth answerable dated question (counted from the second) is also read with only the
    sentences that hold its answer blanked out: the article stays, with its headline and every
    other sentence about the same people and places, which is how a question the article nearly
    answers looks. With ``elsewhere``, the questions were written for other articles than this
    index's, and are all read as unanswerable: a question about something the corpus never
    covers. ``only`` limits the reading to those variants ("" for the questions as asked)."""
    from ..evaluation.gold import load_gold
    from ..index import Index

    index = Index.load(index_dir, embedder)
    reader = Reader(embedder, placeholder_weights())
    golds = list(load_gold(gold))
    jobs = [(n, g, "elsewhere" if elsewhere else "") for n, g in enumerate(golds)]
    if withhold_every and not elsewhere:
        jobs += [(n, g, "withheld") for n, g in enumerate(golds) if g.answers and g.date and n % withhold_every == 0]
    if blank_every and not elsewhere:
        jobs += [(n, g, "blanked") for n, g in enumerate(golds) if g.answers and g.date and n % blank_every == 1 % blank_every]
    items = []
    for n, g, variant in jobs:
        if only and variant not in only:
            continue
        items.append(_read(index, reader, embedder, g, variant, fold_of(g, n), Path(gold).stem))
        if n % 50 == 0:
            print(f"  {gold}: {n} questions read", file=sys.stderr, flush=True)
    return items


def _read(index, reader: Reader, embedder, g, variant: str, fold: int, source: str) -> Item:
    """One gold question read as the reader reads it, in its ``variant`` ("" for as asked)."""
    from .query import plan

    as_of = parse_as_of(g.date or today())
    where = _without_answer(index, g.answers) if variant == "withheld" else None
    answers = g.answers
    if variant:
        g = replace(g, id=f"{g.id}#{variant}", answers=[], answerable=False)
    p = plan(index, embedder, g.question, g.history or None, k=5, as_of=as_of, where=where)
    cands = reader.candidates(p.pool, index.articles)
    if variant == "blanked":
        cands = [c for c in cands if not holds_answer(c.with_context, answers)]
    x = reader.sentence_matrix(p.question, p.vector, cands, index.articles, as_of) if cands else np.zeros((0, len(SENTENCE_FEATURES)))
    texts = [c.with_context for c in cands]
    y = np.array([holds_answer(t, g.answers) for t in texts], dtype=bool)
    spans = spans_of(cands) if p.question.factoid and cands else []
    span_texts = list(dict.fromkeys([s.text for s in spans] + [gloss(s.label) for s in spans if s.label != NOUN_CHUNK]
                                    + [s.attached for s in spans if s.attached]))
    focus = dict(zip(span_texts, reader.focus_similarity(p.question.focus, span_texts).tolist())) if p.question.focus and span_texts else {}
    arts = {c.doc_id: index.articles[c.doc_id] for c in cands}
    return Item(g.id, fold, g.answers, p.question.factoid, p.question.answer_class, x, y, texts,
                (p.question, cands, spans, arts, focus), source)


def week_folds(items_dates: list[str | None]):
    """A function giving a gold row its fold: weeks are dealt round-robin into `FOLDS` folds, so a
    question is never fitted on its own week; an undated row goes by its position."""
    weeks = sorted({date.fromisoformat(d[:10]).isocalendar()[:2] for d in items_dates if d})
    rank = {w: k % FOLDS for k, w in enumerate(weeks)}

    def fold_of(g, n: int) -> int:
        if g.date:
            return rank[date.fromisoformat(g.date[:10]).isocalendar()[:2]]
        return n % FOLDS

    return fold_of

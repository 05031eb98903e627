"""The reader: candidates -> features -> scores -> a decision, for one question.

`Reader.read` returns a `Reading`: the sentence candidates ranked by the
fitted sentence model, the best short answer (for factoid questions) with its
probability, the calibrated chance that the answer is right, and whether that
chance is high enough to answer. It builds nothing the assistant could not
replace: the embedder and the fitted weights are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..embedder import Embedder
from ..retrieval.retriever import diversify
from ..types import Article, Passage
from .candidates import SentenceCache, SentenceCandidate, gather, spans_of
from .confidence import Decision, asked_names, decide, missing_names
from .features import SpanGroup, sentence_features, span_features, span_groups
from .kinds import repeats_question, unfit
from .question import Question
from .score import Weights, load_weights

__all__ = ["Reader", "Reading", "ShortAnswer", "assemble", "picked", "sources", "with_threshold"]

SPAN_SENTENCES = 30  # entities are read from this many best sentences (spaCy costs ~0.2 ms a word)
ALTERNATIVES = 8  # short answers offered to a model that chooses among them


@dataclass(frozen=True)
class ShortAnswer:
    text: str
    probability: float
    candidate: SentenceCandidate  # the sentence it was cut from
    start: int  # offsets within that sentence's text
    end: int
    label: str = ""  # its entity label (CARDINAL, DATE, PERSON, …; NP for a plain noun phrase)


@dataclass
class Reading:
    ranked: list[SentenceCandidate] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)  # sentence model, row for row with ranked
    short: ShortAnswer | None = None  # the best short answer, when confident enough to lead with
    alternatives: list[ShortAnswer] = field(default_factory=list)  # the best short answers, best first
    rows: list[np.ndarray] = field(default_factory=list)  # each alternative's confidence features
    confidence: float = 0.0
    answerable: bool = False
    reason: str = ""
    missing: list[str] = field(default_factory=list)  # the asking clause's names that nothing retrieved mentions

    @property
    def best(self) -> SentenceCandidate | None:
        return self.ranked[0] if self.ranked else None


class _VectorCache:
    def __init__(self, embedder: Embedder, size: int = 200_000) -> None:
        self.embedder = embedder
        self.size = size
        self._items: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._items))
        if len(self._items) + len(todo) > self.size:
            self._items.clear()  # a crude bound: the texts of one question are far fewer
            todo = list(dict.fromkeys(texts))
        if todo:
            for t, v in zip(todo, self.embedder.embed(todo)):
                self._items[t] = v
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._items[t] for t in texts])


class Reader:
    """Reads retrieved passages for the answer to a question (see the module docstring)."""

    def __init__(self, embedder: Embedder, weights: Weights | None = None) -> None:
        self.embedder = embedder
        self.weights = weights or load_weights()
        self.sentences = SentenceCache()
        self.vectors = _VectorCache(embedder)

    def label_prior(self, answer_class: str, label: str) -> float:
        return self.weights.prior(answer_class, label)

    def focus_similarity(self, focus: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        vecs = self.vectors([focus, *texts])
        return vecs[1:] @ vecs[0]

    # The steps, exposed so `rag.answer.fit` measures exactly what answering computes.
    def candidates(self, passages: Sequence[Passage], articles: dict[str, Article], story_of=None) -> list[SentenceCandidate]:
        return gather(passages, articles, self.sentences, story_of)

    def sentence_matrix(self, q, qvec, cands, articles, as_of) -> np.ndarray:
        vectors = self.vectors([c.text for c in cands])
        titles = self.vectors([articles[c.doc_id].title or c.text for c in cands])
        core = self.vectors([q.core])[0] if q.core and q.core != q.text else qvec
        return sentence_features(q, qvec, cands, vectors, articles, as_of, titles, core)

    def span_matrix(self, q, cands, sentence_logits, articles) -> tuple[list[SpanGroup], np.ndarray]:
        top = np.argsort(-sentence_logits, kind="stable")[:SPAN_SENTENCES]
        spans = spans_of(cands, only=[int(i) for i in top])
        groups = [g for g in span_groups(spans, sentence_logits) if not repeats_question(q, g.best.text)]
        x = span_features(
            q, groups, cands, sentence_logits, self.label_prior, lambda texts: self.focus_similarity(q.focus, texts), articles
        )
        return groups, x

    def read(
        self, q: Question, qvec: np.ndarray, passages: Sequence[Passage], articles: dict[str, Article], as_of: int | None,
        story_of: Callable[[str], str] | None = None,
    ) -> Reading:
        """``story_of`` maps an article to its story, so that copies of one story count once."""
        cands = self.candidates(passages, articles, story_of)
        if not cands:
            return Reading(reason="nothing relevant was retrieved")
        w = self.weights
        xs = self.sentence_matrix(q, qvec, cands, articles, as_of)
        logits = w.sentence.logits(xs)
        groups, x_span, span_probs = [], np.zeros((0, 0)), np.zeros(0)
        if q.factoid:
            groups, x_span = self.span_matrix(q, cands, logits, articles)
            span_probs = w.span.probabilities(x_span) if len(groups) else np.zeros(0)
        missing = missing_names(q, cands, articles)
        d = decide(q, xs, logits, x_span, span_probs, [g.best.sentence for g in groups], missing)
        row = d.rows[d.pick:d.pick + 1] if d.pick is not None else d.rows
        confidence = float(w.confidence.probabilities(row)[0])
        return with_threshold(q, assemble(q, cands, logits, groups, span_probs, d, confidence, missing, w.short_threshold),
                              w.answer_threshold)


def assemble(
    q: Question, cands: Sequence[SentenceCandidate], logits: np.ndarray, groups: Sequence[SpanGroup], span_probs: np.ndarray,
    d: Decision, confidence: float, missing: Sequence[str], short_threshold: float,
) -> Reading:
    """The `Reading` of scored candidates (not yet decided: see `with_threshold`). Shared with
    the fitting scripts, which assemble readings from out-of-fold scores."""
    probs = 1.0 / (1.0 + np.exp(-logits))
    order = np.argsort(-logits, kind="stable")
    # The answer's own sentence leads; the rest follow in the sentence model's order.
    ranked_idx = [d.lead, *[int(i) for i in order if int(i) != d.lead]]
    reading = Reading(
        ranked=[cands[i] for i in ranked_idx],
        probabilities=[float(probs[i]) for i in ranked_idx],
        confidence=confidence,
    )
    for i in np.argsort(-span_probs, kind="stable")[:ALTERNATIVES]:
        m = groups[int(i)].best
        reading.alternatives.append(
            ShortAnswer(m.text, float(span_probs[int(i)]), cands[m.sentence], m.start, m.end, groups[int(i)].label)
        )
        reading.rows.append(d.rows[int(i)])
    if reading.alternatives and reading.alternatives[0].probability >= short_threshold:
        reading.short = reading.alternatives[0]
    asked = set(asked_names(q))
    reading.missing = [e for e in missing if e in asked]
    return reading


def picked(reading: Reading, choice: ShortAnswer, confidence: float, threshold: float, q: Question) -> Reading:
    """The reading with ``choice`` as its short answer and its sentence leading."""
    lead = choice.candidate
    ranked = [lead, *[c for c in reading.ranked if c is not lead]]
    by_id = {id(c): p for c, p in zip(reading.ranked, reading.probabilities)}
    chosen = replace(
        reading, ranked=ranked, probabilities=[by_id.get(id(c), 0.0) for c in ranked], short=choice, confidence=confidence
    )
    return with_threshold(q, chosen, threshold)


def with_threshold(q: Question, reading: Reading, threshold: float) -> Reading:
    """The reading answered when its confidence reaches ``threshold`` and its sentence is of the
    kind the question asks for (`rag.answer.kinds`), else abstaining with its reason. A question
    without a letter or a digit asks nothing, whatever the scores say."""
    if not any(ch.isalnum() for ch in q.text):
        return replace(reading, answerable=False, reason="the question has no words to look for")
    answerable = reading.confidence >= threshold
    mismatch = unfit(q, reading.best.with_context) if answerable and reading.best is not None else None
    if mismatch:
        return replace(reading, answerable=False, reason=mismatch)
    reason = "" if answerable else _reason(q, reading.missing, reading.confidence)
    return replace(reading, answerable=answerable, reason=reason)


RRF_K = 60  # reciprocal rank fusion's usual constant (Cormack et al., 2009), not fitted here


def sources(
    reading: Reading, pool: Sequence[Passage], k: int, story_of: Callable[[str], str] | None = None
) -> list[Passage]:
    """The ``k`` passages to show as an answer's sources, one per story: the passage the
    reading's best sentence (the one an answer quotes) was read in, then the pool's passages by
    reciprocal rank fusion of two orders: the retriever's, and the reader's (each passage at the
    rank of its best sentence). The passage an answer cites is then always among its sources.

    On realtimeqa-2023 (386 questions, as of their dates) recall@5 was 0.826 with the fusion,
    against 0.821 for retrieval's order alone, 0.824 with only the answer's passage moved first,
    and 0.819 for the reader's order alone; the pool holds an evidence article for 0.899."""
    read_rank: dict[str, int] = {}
    for c in reading.ranked:
        read_rank.setdefault(c.passage.chunk.id, len(read_rank))
    retrieved: dict[str, tuple[int, Passage]] = {}
    for p in pool:
        retrieved.setdefault(p.chunk.id, (len(retrieved), p))
    unread = len(read_rank) + len(retrieved)  # a passage no sentence of which was ranked comes after all ranked ones

    def fused(chunk_id: str) -> float:
        return 1 / (RRF_K + retrieved[chunk_id][0]) + 1 / (RRF_K + read_rank.get(chunk_id, unread))

    first: dict[str, Passage] = {}
    if reading.best is not None:
        first[reading.best.passage.chunk.id] = reading.best.passage
    for chunk_id in sorted(retrieved, key=lambda c: (-fused(c), retrieved[c][0])):
        first.setdefault(chunk_id, retrieved[chunk_id][1])
    # Ranked by this position, not by the retriever's score, also where one story fills the k.
    picked = diversify(list(enumerate(first.values())), k, 1, story_of, doc=lambda t: t[1].chunk.doc_id, score=lambda t: -t[0])
    return [p for _, p in picked]


def _reason(q: Question, missing: list[str], confidence: float) -> str:
    """Why the assistant abstains, in words a reader can act on."""
    if missing:
        return f"the articles found don't mention {', '.join(missing)}"
    if q.factoid:
        kind = {"number": "number", "time": "time", "person": "person", "place": "place"}.get(q.answer_class, "answer")
        return f"no passage clearly gives the {kind} asked for (best estimate {confidence:.0%} likely right)"
    return f"no passage clearly answers it (best estimate {confidence:.0%} likely right)"

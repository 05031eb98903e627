"""Decide: the estimated chance that the best answer is right, and whether to give it.

The confidence model is a logistic regression over a handful of question-level
measurements of the reading (how strong the best candidate is, how far ahead
of the next, how many articles agree, whether the question's named things were
found at all, in the pool or its headlines). It is fitted on gold data where a wrong answer and an answer to
an unanswerable question count alike, and the threshold is the one that
maximised truthfulness ((right - wrong) / questions) in cross-validation, so
"weak" means "more likely wrong than worth saying", measured, not guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text import acronyms, content_terms
from ..types import Article
from .candidates import SentenceCandidate
from .features import SENTENCE_FEATURES, SPAN_FEATURES, terms_found
from .question import Question

__all__ = ["CONFIDENCE_FEATURES", "Decision", "asked_names", "decide", "missing_names"]

CONFIDENCE_FEATURES = (
    "top",  # probability of the chosen answer (span model, or sentence model for sentence answers)
    "margin",  # its lead over the next different candidate
    "sentence_top",  # probability of the best sentence
    "support",  # articles agreeing on the chosen span (0 for sentence answers)
    "entity_coverage",  # best share of the question's named things found around a top sentence
    "coverage",  # best share of the question's terms in a top sentence
    "factoid",  # the question asks for a thing, a number, a time, a person or a place
    "has_span",  # a short answer was chosen
    "label_prior",  # how well the chosen span's entity label fits the question class
    "pool",  # log(1 + sentence candidates): fewer rivals, less room for a wrong pick
    "named_found",  # share of the asking clause's named things found anywhere in the pool or its headlines
    # The kind of answer asked for, one indicator each (other, reason and manner are the baseline):
    # how often the best candidate is right differs by kind, whatever its scores say.
    *(f"asks_{c}" for c in ("number", "time", "person", "place", "thing", "quote")),
)
_ASKS = tuple(c.removeprefix("asks_") for c in CONFIDENCE_FEATURES if c.startswith("asks_"))


def missing_names(q: Question, cands: Sequence[SentenceCandidate], articles: dict[str, Article]) -> list[str]:
    """The question's named things that no candidate sentence or headline mentions."""
    seen: set[str] = set()
    for c in cands:
        seen.update(content_terms(c.text))
        seen.update(acronyms(c.text))  # "CSTO", spelt out
        seen.update(content_terms(articles[c.doc_id].title))
    return [e for e in q.entities if not terms_found(content_terms(e), seen)]


def asked_names(q: Question) -> list[str]:
    """The question's named things in its asking clause: a quiz's preamble ("In the former
    Soviet republic, …") carries context no article need repeat."""
    return [e for e in q.entities if e in (q.core or q.text)]


@dataclass
class Decision:
    """What the reader settles on: the short answer's index among the span groups (or None),
    the sentence that leads the answer, and one confidence row per span group (or one row)."""

    pick: int | None
    lead: int
    rows: np.ndarray


def decide(
    q: Question,
    sentence_x: np.ndarray,
    sentence_logits: np.ndarray,
    span_x: np.ndarray,
    span_probs: np.ndarray,
    span_sentences: Sequence[int],
    missing: Sequence[str],
) -> Decision:
    """The confidence rows of a reading: one per span group for factoid questions (the first
    picked), else one for the best sentence. Shared by the reader and the fitting script so
    the model is fitted on exactly what runs."""
    probs = 1.0 / (1.0 + np.exp(-sentence_logits))
    order = np.argsort(-sentence_logits, kind="stable")
    top3 = order[:3]
    ent = float(sentence_x[top3, SENTENCE_FEATURES.index("entity_coverage")].max())
    cov = float(sentence_x[top3, SENTENCE_FEATURES.index("coverage")].max())
    asked = asked_names(q)
    named_found = 1.0 - sum(e in missing for e in asked) / len(asked) if asked else 1.0
    common = dict(sentence_top=float(probs[order[0]]), entity_coverage=ent, coverage=cov, pool=len(order),
                  named_found=named_found, answer_class=q.answer_class)
    if len(span_probs):
        support, prior = SPAN_FEATURES.index("support"), SPAN_FEATURES.index("label_prior")
        rows = []
        for i in range(len(span_probs)):
            second = float(np.max(np.delete(span_probs, i))) if len(span_probs) > 1 else 0.0
            rows.append(_row(top=float(span_probs[i]), second=second, support=float(span_x[i, support]), factoid=True,
                             has_span=True, label_prior=float(span_x[i, prior]), **common)[0])
        pick = int(np.argmax(span_probs))
        return Decision(pick, int(span_sentences[pick]), np.array(rows, dtype=np.float32))
    lead = int(order[0])
    second = float(probs[order[1]]) if len(order) > 1 else 0.0
    row = _row(top=float(probs[lead]), second=second, support=0.0, factoid=q.factoid, has_span=False, label_prior=0.0,
               **common)
    return Decision(None, lead, row)


def _row(
    *,
    top: float,
    second: float,
    sentence_top: float,
    support: float,
    entity_coverage: float,
    coverage: float,
    factoid: bool,
    has_span: bool,
    label_prior: float,
    pool: int,
    named_found: float,
    answer_class: str,
) -> np.ndarray:
    return np.array(
        [[top, top - second, sentence_top, support, entity_coverage, coverage, float(factoid), float(has_span), label_prior,
          math.log1p(pool), named_found, *(float(answer_class == c) for c in _ASKS)]],
        dtype=np.float32,
    )

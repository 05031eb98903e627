"""Compose: the words of an answer and its citations, from a reading.

An extractive answer is the short answer (for factoid questions, when the
reader is confident in it), then the sentence it was cut from, quoted and
cited, preceded by the sentence its pronoun points to when it opens with one.
Why/how answers are one to three sentences. Citations carry the article, its
date, the passage and the exact character span of each cited sentence.
"""

from __future__ import annotations

from ..text import Sentence
from ..types import Article, Citation
from .candidates import SentenceCandidate
from .reader import Reading

__all__ = ["ABSTAIN_PREFIX", "citation", "attach", "extractive", "abstention", "evidence_set"]

ABSTAIN_PREFIX = "The indexed articles don't say"
MORE_SENTENCES = 2  # why/how answers add up to this many further sentences
CLOSE = 0.8  # …each at least this share of the best sentence's probability


def abstention(reason: str) -> str:
    return f"{ABSTAIN_PREFIX}: {reason}." if reason else f"{ABSTAIN_PREFIX}."


def attach(sentence: str, marks: list[str]) -> str:
    """Put citation markers at the end of a sentence."""
    return f"{sentence.rstrip()} {''.join(marks)}"


def citation(n: int, cand: SentenceCandidate, s: Sentence, article: Article, score: float) -> Citation:
    chunk = cand.passage.chunk
    return Citation(
        n=n,
        doc_id=cand.doc_id,
        title=article.title,
        published=article.published,
        text=chunk.text,
        start=s.start,
        end=s.end,
        score=round(float(score), 4),
        quote=article.text[s.start : s.end],
        url=article.url,
        chunk_id=chunk.id,
        passage_start=chunk.start,
        source=article.source,
    )


def evidence_set(reading: Reading, limit: int) -> list[tuple[SentenceCandidate, Sentence, float]]:
    """The top sentences, each preceded by its antecedent when it needs one (for prompts)."""
    out = []
    seen = set()
    for cand, p in zip(reading.ranked[:limit], reading.probabilities[:limit]):
        for s in ([cand.context] if cand.context else []) + [cand.sentence]:
            key = (cand.doc_id, s.start)
            if key not in seen:
                seen.add(key)
                out.append((cand, s, p))
    return out


def extractive(reading: Reading, articles: dict[str, Article], *, factoid: bool) -> tuple[str, list[Citation], str | None]:
    """(text, citations, short answer) of the quoted answer."""
    best = reading.ranked[0]
    picks: list[tuple[SentenceCandidate, Sentence, float]] = []
    if best.context is not None:
        picks.append((best, best.context, reading.probabilities[0]))
    picks.append((best, best.sentence, reading.probabilities[0]))
    if not factoid:
        top = reading.probabilities[0]
        for cand, p in zip(reading.ranked[1:], reading.probabilities[1:]):
            if len(picks) >= 1 + MORE_SENTENCES + (best.context is not None) or p < CLOSE * top:
                break
            picks.append((cand, cand.sentence, p))
    parts, citations = [], []
    for i, (cand, s, p) in enumerate(picks, start=1):
        citations.append(citation(i, cand, s, articles[cand.doc_id], p))
        parts.append(attach(s.text, [f"[{i}]"]))
    short = reading.short.text if reading.short is not None else None
    text = " ".join(parts)
    if short:
        lead = short.rstrip(" .")
        text = f"{lead}. {text}"
    return text, citations, short

"""Compose: the words of an answer and its citations, from a reading.

An extractive answer is the short answer (for factoid questions, when the
reader is confident in it), then the sentence it was cut from, quoted and
cited, preceded by the sentence its pronoun points to when it opens with one.
Why/how answers are one to three sentences. Citations carry the article, its
date, the passage and the exact character span of each cited sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from ..dates import day_number
from ..text import Sentence
from ..types import Article, Citation, Copy
from .candidates import SentenceCandidate
from .reader import Reading, ShortAnswer

__all__ = [
    "ABSTAIN_PREFIX", "citation", "attach", "extractive", "abstention", "evidence_set", "with_copies", "digest",
    "disagreement", "day_label", "DIGEST_SEPARATOR", "DATE_LABEL", "AS_OF_NOTE", "DIFFER_LEAD", "VERDICT",
]

# The assistant's own framing around quoted sentences, written here and recognised by the
# evaluation (`rag.evaluation.runner.count_unsupported`), which must not count it as a claim.
DIGEST_SEPARATOR = " · "
_DAY = r"[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?"  # what day_label writes
DATE_LABEL = re.compile(rf"(?:^|(?<=\s)){_DAY}: ")  # a digest item's "Mar 2: "
AS_OF_NOTE = re.compile(rf"^, as of {_DAY}")  # after a dated short answer
VERDICT = "True. "  # leads the answer to a true-or-false question when a cited sentence states the claim
DIFFER_LEAD = re.compile(rf"^Reports differ on {_DAY}: (.+?\])\.(?:\s|$)")  # a disagreement's lead

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


def day_label(published: str | None, as_of: int | None) -> str:
    """An article's day as "Mar 5" (with the year when it is not the year asked in)."""
    day = day_number(published)
    if day is None:
        return "date unknown"
    d = date.fromordinal(day)
    year = date.fromordinal(as_of).year if as_of else date.today().year
    return f"{d:%b} {d.day}" + ("" if d.year == year else f", {d.year}")


def extractive(
    reading: Reading, articles: dict[str, Article], *, factoid: bool, dated: bool = False, as_of: int | None = None
) -> tuple[str, list[Citation], str | None]:
    """(text, citations, short answer) of the quoted answer; ``dated`` says when a figure dates
    from ("17, as of Mar 5."), for figures that change from report to report."""
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
        published = articles[reading.short.candidate.doc_id].published if reading.short else None
        if dated and day_number(published) is not None:
            lead = f"{lead}, as of {day_label(published, as_of)}"
        text = f"{lead}. {text}"
    return text, citations, short


def digest(
    items: list[tuple[SentenceCandidate, float]], articles: dict[str, Article], as_of: int | None
) -> tuple[str, list[Citation]]:
    """A dated digest: "Mar 2: <sentence> [1] · Mar 3: <sentence> [2] <sentence> [3]", in date
    order, a day's sentences under one date."""
    parts, citations = [], []
    last_label = None
    for i, (cand, p) in enumerate(items, start=1):
        article = articles[cand.doc_id]
        citations.append(citation(i, cand, cand.sentence, article, p))
        label, quoted = day_label(article.published, as_of), attach(cand.text, [f"[{i}]"])
        if label == last_label:
            parts[-1] += f" {quoted}"
        else:
            parts.append(f"{label}: {quoted}")
        last_label = label
    return DIGEST_SEPARATOR.join(parts), citations


def disagreement(
    answers: list[ShortAnswer], articles: dict[str, Article], as_of: int | None
) -> tuple[str, list[Citation]]:
    """Both (or all) reported values with their outlets, each sentence quoted and cited."""
    named, quoted, citations = [], [], []
    for i, a in enumerate(answers, start=1):
        article = articles[a.candidate.doc_id]
        citations.append(citation(i, a.candidate, a.candidate.sentence, article, a.probability))
        named.append(f"{a.text.rstrip(' .')} ({article.source or article.title}) [{i}]")
        quoted.append(attach(a.candidate.text, [f"[{i}]"]))
    day = day_label(articles[answers[0].candidate.doc_id].published, as_of)
    lead = f"Reports differ on {day}: {' against '.join(named)}."
    return f"{lead} {' '.join(quoted)}", citations


def with_copies(citations: list[Citation], articles: dict[str, Article], also_in: Callable[[str], list[str]]) -> list[Citation]:
    """The citations, each listing the other articles that printed the same story."""
    out = []
    for c in citations:
        copies = tuple(Copy(d, a.title, a.source, a.published) for d in also_in(c.doc_id) if (a := articles.get(d)))
        out.append(replace(c, also_in=copies) if copies else c)
    return out

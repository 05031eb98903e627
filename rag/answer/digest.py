"""Digests: how a story developed, as dated sentences from the days' reports.

"How did the toll change?", "What's the latest on X?", "What happened this week?": the
best sentence of each of up to `DIGEST_DAYS` days among the reader's `DIGEST_POOL` best
(the first and the latest day always), in date order, each with its date.
A sentence must hold most of the question's subject (its terms other than the digest
words), weighted by idf, or it is not part of the story asked about; when the subject is
a count ("the death toll", "the number of evacuees"), it must also give an amount, as a
count's answer must (`rag.answer.kinds.gives_amount`): "the search went on" tells nothing of
how a toll changed, nor does "the first victim was named". The digest words themselves
(`digest_cue`: "latest on", "how has … changed") are what the dates answer, so the reader
does not look for sentences repeating them. "The latest on X" also gives the newest day's
changed figures, from whichever of that day's reports gives them (`_updates`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..dates import day_number
from ..text import content_terms, numbers_in
from ..types import Article
from . import nlp
from .candidates import SentenceCandidate
from .features import term_match
from .kinds import gives_amount
from .question import COUNTED
from .reader import Reading

__all__ = ["COUNTED", "DIGEST_DAYS", "DIGEST_POOL", "LATEST", "dated_digest", "day_of", "digest_cue", "digest_subject"]

DIGEST_DAYS = 5  # a digest quotes at most this many days
LATEST_FACTS = 3  # …and "the latest on X" at most this many sentences of the newest day
# …from the reader's best sentences. The subject (and number) tests keep a digest to its story, so the
# pool can be wide: 12 missed days whose one report of the figure ranked lower.
DIGEST_POOL = 40
LATEST = re.compile(r"\b(?:latest|most\s+recent|newest)\b", re.I)


# Asking how something developed, not for one fact: change verbs after "how has/did/is",
# "the latest on", "what happened", a rundown/timeline/update.
_DIGEST = re.compile(
    r"\bhow\s+(?:has|have|did|is|are|was|were)\b(?P<s1>.*?)\b(?:chang|ris|grow|grew|develop|evolv|progress|unfold|fall|fell|drop)\w*"
    r"|\b(?:latest\s+(?:news|updates?)|latest|news|updates?)\s+(?:on|about|from|in)\b(?P<s2>.*)"
    r"|\bwhat(?:'s| is| has)?\s+(?:been\s+)?happen\w*\b(?P<s3>.*)"
    r"|\b(?:rundown|timeline|recap|summary|overview)\b(?P<s4>.*)",
    re.I,
)


def digest_cue(question: str) -> str:
    """The words that make a question a digest ("latest on" in "What's the latest on the
    floods?"), or "": the digest's dates answer for them, so no sentence need repeat them."""
    found = _digest(question)
    if found is None:
        return ""
    m, group, _ = found
    return (question[m.start() : m.start(group)] + " " + question[m.end(group) : m.end()]).strip()


def digest_subject(question: str) -> str | None:
    """What a digest question asks the development of ("the death toll" in "How has the death
    toll changed?"), or None when it asks for one fact."""
    found = _digest(question)
    return None if found is None else found[2]


def _digest(question: str) -> tuple[re.Match, int, str] | None:
    """The digest pattern's match, the number of its subject's group and the subject, or None
    when the question asks for one fact (`digest_cue` and `digest_subject` read the one match)."""
    m = _DIGEST.search(question)
    if m is None:
        return None
    group = next(i for i, g in enumerate(m.groups(), start=1) if g is not None)
    subject = m.group(group).strip(" ?.!,")
    # "the number of evacuees" is about evacuees: reports give the number, not the word.
    subject = re.sub(r"^(?:the\s+)?(?:number|count|total|amount|level|figure)s?\s+of\s+", "", subject, flags=re.I)
    if not content_terms(subject) or re.match(r"(?:how|what|who|which|when|where|why)\b", subject, re.I):
        return None  # nothing to follow, or a fact asked for ("an update on how many left")
    if m.group("s1") is not None and _noun_before_verb(question, m.end("s1"), m.end()):
        return None  # "How did a fuel price rise turn into riots?": "rise" is a noun, "turn" asks how
    return m, group, subject


def _noun_before_verb(question: str, start: int, end: int) -> bool:
    """Whether the change word (between ``start`` and ``end``) is tagged a noun and a verb follows
    it: then it names a thing ("a price rise"), and the verb after it is what the question asks."""
    tokens = nlp.parse(question).tokens
    i = next((i for i, t in enumerate(tokens) if start <= t.start < end), None)
    return i is not None and tokens[i].tag.startswith("NN") and i + 1 < len(tokens) and tokens[i + 1].tag.startswith("VB")


def day_of(articles: dict[str, Article], cand: SentenceCandidate | None) -> int | None:
    return None if cand is None else day_number(articles[cand.doc_id].published)


def dated_digest(
    reading: Reading, articles: dict[str, Article], subject: str, idf: Callable[[list[str]], list[float]] | None,
    *, counted: bool = False, latest: bool = False,
) -> list[tuple[SentenceCandidate, float]]:
    """The digest's sentences, oldest first (see the module docstring); with ``counted`` only
    sentences that give an amount. With ``latest`` ("what's the latest on
    the floods?") the newest day gives up to `LATEST_FACTS` sentences, since what is new is what
    was asked: its best sentence, the figures that day's reports changed (`_updates`), then the
    best-ranked other sentences of the best sentence's report."""
    stems = list(dict.fromkeys(content_terms(subject)))
    weights = dict(zip(stems, idf(stems) if idf else [1.0] * len(stems)))
    best_by_day: dict[int, tuple[SentenceCandidate, float]] = {}
    for cand, p in zip(reading.ranked[:DIGEST_POOL], reading.probabilities[:DIGEST_POOL]):
        d = day_of(articles, cand)
        if d is None or not _holds_most(weights, cand.text) or (counted and not gives_amount(cand.text)):
            continue
        if d not in best_by_day or p > best_by_day[d][1]:
            best_by_day[d] = (cand, p)
    days = sorted(best_by_day)
    if len(days) > DIGEST_DAYS:
        # A change needs its start and its latest state; the middle keeps its best-matching days.
        middle = sorted(days[1:-1], key=lambda d: -best_by_day[d][1])[: DIGEST_DAYS - 2]
        days = sorted([days[0], *middle, days[-1]])
    if len(days) < 2:
        return []
    items = [best_by_day[d] for d in days]
    if latest:
        pool = list(zip(reading.ranked, reading.probabilities))
        newest = items[-1][0]
        more = _updates(pool, articles, newest, weights, idf)[: LATEST_FACTS - 1]
        if len(more) < LATEST_FACTS - 1:
            taken = {(c.doc_id, c.sentence.start) for c, _ in more}
            more += [
                (c, p) for c, p in pool[:DIGEST_POOL]
                if c.doc_id == newest.doc_id and c.sentence.start != newest.sentence.start
                and (c.doc_id, c.sentence.start) not in taken
            ][: LATEST_FACTS - 1 - len(more)]
        earlier = DIGEST_DAYS - 1 - len(more)  # the digest stays within DIGEST_DAYS sentences
        items = (items[:-1][-earlier:] if earlier > 0 else []) + sorted(
            [items[-1], *more], key=lambda cp: (cp[0].doc_id != newest.doc_id, cp[0].doc_id, cp[0].sentence.start)
        )  # each report's sentences in its own order, the newest best's report first
    return items


def _updates(
    pool: list[tuple[SentenceCandidate, float]], articles: dict[str, Article], newest: SentenceCandidate,
    subject: dict[str, float], idf: Callable[[list[str]], list[float]] | None,
) -> list[tuple[SentenceCandidate, float]]:
    """The newest day's sentences that update a figure an earlier day's report gave: most of their
    words (by idf), numbers and dates aside, are in an earlier sentence none of whose numbers they
    repeat ("Police said on Thursday that 15 people were still missing" after "Police said 35 people were
    still missing"). What is new about a story is mostly its changed figures, and the newest
    report that ranks best for a story ("the dam was not breached") need not carry them. Best
    first; from the newest day's reports about the subject (`_holds_most`, headline and text), never
    repeating a figure the newest best sentence gives."""
    day = day_of(articles, newest)
    said = _numbers(newest.text)
    earlier = [(c, _numbers(c.text)) for c, _ in pool if (d := day_of(articles, c)) is not None and d < day]
    earlier = [(set(content_terms(c.text)), n) for c, n in earlier if n]
    found, about = [], {}
    for c, p in pool:
        if day_of(articles, c) != day or c is newest:
            continue
        if c.doc_id not in about:  # one look at each article, however many of its sentences are pooled
            art = articles[c.doc_id]
            about[c.doc_id] = _holds_most(subject, f"{art.title or ''} {art.text}")
        if not about[c.doc_id]:
            continue
        numbers = _numbers(c.text)
        if not numbers or numbers <= said:
            continue
        frame = list(dict.fromkeys(content_terms(_without_figures(c.text))))
        weights = idf(frame) if idf else [1.0] * len(frame)
        total = sum(weights)
        if not total:
            continue
        share = max(
            (sum(w for t, w in zip(frame, weights) if term_match(t, terms)) / total for terms, n in earlier if n.isdisjoint(numbers)),
            default=0.0,
        )
        if share > 0.5:
            found.append((share, p, c, numbers))
    found.sort(key=lambda t: (-t[0], -t[1]))
    out, stated = [], set(said)
    for _, p, c, numbers in found:
        if not numbers <= stated:  # one sentence per figure: "stands at 17" after "rose to 17" adds nothing
            out.append((c, p))
            stated |= numbers
    return out


def _numbers(text: str) -> frozenset[str]:
    """The figures ``text`` states, number words as digits ("three" and "3" are one figure);
    words that only approximate one ("dozens", "hundreds") state none."""
    from .claim import digits

    return frozenset(n for n in numbers_in(digits(text)) if n[0].isdigit())


def _without_figures(text: str) -> str:
    """``text`` without its numbers, amounts and dates: the words a figure is reported in."""
    for e in sorted(nlp.entities([text])[0], key=lambda e: -e.start):
        if e.label in nlp.FIGURES:
            text = text[: e.start] + " " + text[e.end :]
    return re.sub(r"\d[\d,.]*", " ", text)


def _holds_most(subject: dict[str, float], text: str) -> bool:
    """Whether ``text`` holds most of the subject's weight (any text, when the subject weighs nothing)."""
    total = sum(subject.values())
    terms = set(content_terms(text))
    return not total or sum(w for s, w in subject.items() if term_match(s, terms)) > total / 2

"""News: the latest report wins, disagreements are named, and changes become a dated digest.

The reader ranks candidates by what they say; this step adds what news needs on
top, from the articles' dates (parsed once at load time) and the question's
time window (`rag.timewords`):

* **Latest wins.** A figure that changes from day to day (a toll, a count)
  makes the reports of different days disagree, and the reader may pick an
  old one. So when the reader would answer, and the top sources hold a newer
  day than its answer's (or, when the question names days, the newest of
  those), that day's reports are read on their own; if they answer about as
  confidently (within `CLOSE`, the rule that names disagreements: two reports
  of a changing figure that are near ties go to the newer; requiring the newer
  to be surer kept "9,000 evacuated" on Wednesday at 0.6916 against
  Wednesday's "11,500" at 0.6910), with a sentence the whole pool's reading also ranked among
  its k best (k = the sources shown), their answer wins; this changes which
  report answers, never whether to answer, which stays the reader's
  calibrated decision. Two questions are instead read over one day's reports
  alone, answer or abstention, since those reports are what they ask about:
  one about a day ("on Wednesday", "yesterday"; the next day's reports when
  it has none among the top sources), and one for the latest figure ("the
  latest death toll", `asks_latest`: the newest day), where the whole pool's
  reading, split between the figures of several days, is unsure by design.
  "By Tuesday" needs nothing here: the question is then asked as of Tuesday
  (`rag.answer.query`).
* **A past the reports only mention.** When the question's days end more than a
  year before the oldest top source was published ("in 1987", "in the 1920s",
  asked of this week's news), a report answers only with a sentence that names
  a year of those days (itself, or the sentence before when it opens with a
  pronoun); otherwise the answer is "the articles don't say". Today's toll is
  not the toll of the 1987 flood, and the reader cannot tell them apart by
  wording. A year back keeps "last year" and a yearless "June 12" (read as the
  last one) out of this rule; an open range ("before 1990") is not checked.
* **A future the reports cannot know.** When the question's days all lie after the day it
  is asked ("Will it rain on Sunday?" asked on Saturday), a report answers only with a sentence
  that looks ahead (a modal verb: "rain will ease on Sunday"); what fell last Sunday is no
  forecast, and otherwise the answer is "the articles don't say".
* **Disagreement.** When the leading short answer has a rival of the same
  kind, as likely (`CLOSE`, the rule that adds a why-answer's extra
  sentences), from another outlet on the same day, with another value, the
  answer gives both with their sources instead of silently picking one.
* **Digests** ("How did the toll change?", "What's the latest on X?"): see
  `rag.answer.digest`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..dates import day_number
from ..text import normalize_answer
from ..timewords import TimeRange
from ..types import Article, Passage
from . import nlp
from .candidates import SentenceCandidate
from .compose import CLOSE
from .digest import COUNTED, LATEST, dated_digest, day_of, digest_subject
from .kinds import unfit
from .question import Question
from .reader import Reading, ShortAnswer

__all__ = ["News", "arrange", "asks_latest"]


def asks_latest(question: str) -> str:
    """The words asking for the newest report of a figure ("the latest death toll", "how many, by
    the most recent figures"), or "". Only a count changes from report to report in a way the newest settles:
    "the latest tech giant to cut jobs" names a company, which an older report may give as well."""
    m = LATEST.search(question)
    return m.group(0) if m and COUNTED.search(question) else ""


@dataclass
class News:
    """What the news step decided: the reading to answer from, and what to show besides."""

    reading: Reading
    differs: list[ShortAnswer]  # disagreeing answers, the leading one first; [] when none
    digest: list[tuple[SentenceCandidate, float]]  # dated sentences in date order; [] when not a digest
    newest: bool = False  # the answer was read from the newest reports alone


def arrange(
    q: Question,
    reading: Reading,
    shown: Sequence[Passage],
    articles: dict[str, Article],
    window: TimeRange | None,
    read_day: Callable[[int], Reading],
    idf: Callable[[list[str]], list[float]] | None = None,
    as_of: int | None = None,
) -> News:
    """The reading to answer from (see the module docstring) and any disagreement or digest;
    ``read_day(day)`` reads the question again over the reports of one day only, and ``as_of``
    is the day the question is asked."""
    if not reading.ranked:
        return News(reading, [], [])
    if reading.answerable and _before_the_news(window, shown, articles) and not _names_year_of(reading.best, window):
        return News(replace(reading, answerable=False, reason=f"no passage tells of {_years(window)}"), [], [])
    if reading.answerable and _ahead(window, as_of) and not _looks_ahead(reading.best):
        day = f"{window.start:%A, %B} {window.start.day}"
        return News(replace(reading, answerable=False, reason=f"no passage says what is expected on {day}"), [], [])
    subject = digest_subject(q.text)
    if subject is not None:
        return News(reading, [], dated_digest(reading, articles, subject, idf, counted=bool(COUNTED.search(q.text)),
                                              latest=bool(LATEST.search(q.text))))
    newest = False
    target = _target_day(shown, articles, window)
    if target is not None and ((window is not None and window.one_day) or (window is None and asks_latest(q.text))):
        # "On Wednesday" asks what Wednesday's reports said, and "the latest toll" what the newest
        # reports say: reading them alone is the question.
        fresh = read_day(target)
        if fresh.ranked:
            return News(fresh, _disagreeing(fresh, articles) if q.factoid and fresh.answerable else [], [], True)
    if reading.answerable and target is not None and target != day_of(articles, reading.best):
        fresh = read_day(target)
        # A small pool reads as more certain, so the newest report must also be one the whole
        # pool's reading ranked among its k best (as many as sources are shown): a fresher
        # answer, not merely a lonelier one. (Among the 12 best: 14 right of the 38 realtimeqa
        # answers this step changed, against 15 among the k best.)
        best_overall = {(c.doc_id, c.sentence.start) for c in reading.ranked[: max(1, len(shown))]}
        lead = fresh.best
        if (
            lead is not None
            and (lead.doc_id, lead.sentence.start) in best_overall
            and fresh.confidence >= CLOSE * reading.confidence
            and unfit(q, lead.with_context) is None  # the newer sentence must be of the kind asked for too
        ):
            fresh.answerable, fresh.reason = True, ""
            reading, newest = fresh, True
    differs = _disagreeing(reading, articles) if q.factoid and reading.answerable else []
    return News(reading, differs, [], newest)


def _shown_days(shown: Sequence[Passage], articles: dict[str, Article]) -> list[int]:
    return [d for p in shown if (d := day_number(articles[p.chunk.doc_id].published)) is not None]


def _before_the_news(window: TimeRange | None, shown: Sequence[Passage], articles: dict[str, Article]) -> bool:
    days = _shown_days(shown, articles)
    last = None if window is None or window.by else window.days[1]
    return last is not None and bool(days) and last < min(days) - 366


def _years(window: TimeRange) -> str:
    first, last = window.start.year, window.end.year
    return str(first) if first == last else f"{first}-{last}"


def _names_year_of(cand: SentenceCandidate, window: TimeRange) -> bool:
    """Whether ``cand`` names a year of ``window``, which `_before_the_news` gave an end."""
    if window.start is None:
        return True  # an open range ("before 1990") is not checked by year
    text = cand.text + " " + (cand.context.text if cand.context else "")
    years = {int(y) for y in re.findall(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)", text)}
    return any(window.start.year <= y <= window.end.year for y in years)


def _ahead(window: TimeRange | None, as_of: int | None) -> bool:
    return window is not None and window.start is not None and as_of is not None and window.days[0] > as_of


def _looks_ahead(cand: SentenceCandidate) -> bool:
    """Whether ``cand`` speaks of what is to come: it has a modal verb ("will", "would", "may");
    a report of what happened on a past Sunday is no forecast for the next one."""
    return any(t.tag == "MD" for t in nlp.parse(cand.text).tokens)


def _target_day(shown: Sequence[Passage], articles: dict[str, Article], window: TimeRange | None) -> int | None:
    """The newest day among the top sources; when the question names days, the newest of those
    (a report of the day after counts only when the day itself has none)."""
    days = _shown_days(shown, articles)
    if window is not None and not window.by:
        first, last = window.days
        for stretch in (0, 1):
            inside = [d for d in days if (first is None or d >= first) and (last is None or d <= last + stretch)]
            if inside:
                return max(inside)
        return None  # no top source is from those days: nothing newer to prefer
    return max(days, default=None)


def _value(text: str) -> str:
    """What a short answer says: its numbers when it has any ("At least 11" says 11)."""
    from .claim import digits

    value = normalize_answer(digits(text))
    numbers = re.findall(r"\d+(?:\.\d+)?", value)
    return " ".join(numbers) if numbers else value


def _kind(a: ShortAnswer) -> tuple[str, bool]:
    # Only answers of one entity type disagree: a count never disagrees with a year or a place.
    # Nor, within a type, a figure with words: "21-year-old" and "earlier this month" are both
    # DATEs to spaCy, and not two reports of one time.
    figure = bool(re.search(r"\d", _value(a.text)))
    return a.label or ("number" if figure else "name"), figure


def _disagreeing(reading: Reading, articles: dict[str, Article]) -> list[ShortAnswer]:
    if not reading.alternatives:
        return []
    best = reading.short or reading.alternatives[0]
    day = day_of(articles, best.candidate)
    if day is None:
        return []
    seen = {_value(best.text)}
    outlets = {articles[best.candidate.doc_id].source or best.candidate.doc_id}
    others = []
    for a in reading.alternatives:
        art = articles[a.candidate.doc_id]
        outlet = art.source or a.candidate.doc_id
        if (
            a.probability >= CLOSE * best.probability
            and _kind(a) == _kind(best)
            and day_of(articles, a.candidate) == day
            and _value(a.text) not in seen
            and outlet not in outlets
        ):
            others.append(a)
            seen.add(_value(a.text))
            outlets.add(outlet)
    return [best, *others] if others else []

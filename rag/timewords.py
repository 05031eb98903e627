"""Time words in a news question, resolved against the day it is asked into a date range.

`resolve(question, as_of)` finds expressions such as "yesterday", "on Tuesday", "last week",
"in the past three days", "since March 3" or "in 1954" and returns a `TimeRange` of
inclusive days; `strip_time_words` removes the matched words so a retrieval query is
not diluted by them. Pure and model-free: regular expressions plus `dateparser` for
"March 3rd"-style days. Decisions (weeks start on Monday):

* A bare or "on" weekday is the most recent such day on or before as_of (as_of itself
  when it is that weekday), or, in a question in the future tense ("Will it rain on
  Sunday?", "What's going to happen on Monday?"), the next one on or after as_of;
  "this Tuesday"/"this weekend" are those of as_of's week (maybe after as_of); "last Tuesday" is the Tuesday of the previous week, not merely the latest.
* "this week/month/year" run from their first day to as_of; "last week/month/year" (or
  "previous") are the whole previous calendar unit. "the past week", "the last week" and
  "the past/last N days|weeks|months|years|hours" are rolling: as_of minus N units .. as_of
  (N whole units back, plus the partly elapsed as_of). "N days/weeks ago" is one day.
* "in March" / "March 3" (no year) is the most recent one on or before as_of; with a year
  it is that one even in the future. A range that contains as_of ends at as_of.
* Prepositions: "by", "as of", "until", "through" give a snapshot (by=True, start=None,
  end=the range's end); "since"/"from" give start..as_of; "before" ends the day before,
  "after" starts the day after (open on the other side); "on", "in", "during" keep it.
* Not resolved (None): "recently", "lately", "latest" (the caller handles recency),
  "next week" and other future-relative words, and an event we cannot date ("before the
  election", "after the storm"): guessing a date would silently drop the right articles.
  "between X and Y", weekday abbreviations and numeric "3/4" dates are not read either.
* Traps: a month name alone must be capitalised, follow a preposition or "this"/"last",
  and not be followed by a capitalised word ("in April Ryan's column" is a name); a
  lowercase "may" is a month only with an ordinal or a year ("may 5th", "may 5, 2026"), and
  "May 5 people" is no date. A year is 4 digits in 1800..as_of.year+1 after a preposition,
  not part of a larger number, not followed by a lowercase content word ("in 2000 cases");
  "the 1990s" is a decade; "the 1987 flood" names that year's flood when the year is over a
  year before as_of (news writes counts of a thousand and more with a comma, so "the 1987"
  before a word is a year). "the last few days" has no number, so it is not a window.
* Several expressions: overlapping matches keep the longest; of the rest the narrowest
  range wins (ties: the first). They are not combined ("March 3 last year" is March 3).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

__all__ = ["TimeRange", "resolve", "strip_time_words"]


@dataclass(frozen=True)
class TimeRange:
    start: date | None  # first day included, None = open
    end: date | None  # last day included, None = open (then as_of bounds it anyway)
    text: str  # the words matched in the question, e.g. "on Tuesday"
    by: bool = False  # a snapshot as of `end` ("by Tuesday"), not "only events inside the range"

    @property
    def days(self) -> tuple[int | None, int | None]:
        """(first, last) as day numbers (`date.toordinal`, as `rag.dates` counts days); None = open."""
        return (self.start.toordinal() if self.start else None, self.end.toordinal() if self.end else None)

    @property
    def one_day(self) -> bool:
        """It names a single day ("on Wednesday", "yesterday"), not a snapshot as of one ("by Tuesday")."""
        return not self.by and self.start is not None and self.start == self.end


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {name: i + 1 for i, name in enumerate("january february march april may june july august september "
                                                 "october november december".split())}
_ABBREV = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
           "oct": 10, "nov": 11, "dec": 12}
# Full names first so "March" is not read as "Mar"; only abbreviations take a period ("Sept.").
_MONTH = r"(?P<mon>" + "|".join(_MONTHS) + "|" + "|".join(sorted(_ABBREV, key=len, reverse=True)) + r"\.?)"
_WD = r"(?P<wd>" + "|".join(_WEEKDAYS) + r")"
# Number words are spelled out so the pattern cannot swallow ordinary words ("happened a week ago").
_NUMWORD = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
            r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)")
_NUM = r"(?P<n>\d{1,4}|an?|" + _NUMWORD + r"(?:[- ]" + _NUMWORD + r")*)"
_PREP = r"\b(?:(?P<prep>on|in|during|over|within|since|from|by|until|till|through|throughout|as\s+of|before|after)\s+)?"
# Closed-class words that may follow a year or a day without making it a quantity
# ("in 1954 when ..." is a year, "in 2000 cases" is not). Grammar, not topics.
_FUNCTION = frozenset("""a an the and or but nor so yet when while whereas if as than that this these those
    in on at to for of with from by about into over under after before during since until between
    what who whom whose which where why how is are was were be been did do does had has have will would
    could should can may might must i you he she it we they there""".split())
_SNAPSHOT = {"by", "until", "till", "through", "as of"}
# A question in the future tense ("Will it rain on Sunday?") asks about the coming weekday.
_FUTURE = re.compile(r"\b(?:will|shall|won['’]t|going\s+to)\b|['’]ll\b", re.I)

_PATTERNS = {  # kind -> regex (compiled case-insensitively below; case is checked where it matters)
    "iso": r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})\b",
    "mdy": _MONTH + r"\s+(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?(?![\d:])\b",
    "dmy": r"(?<![\d.,$])(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH
           + r"(?:,?\s+(?P<y>\d{4}))?\b",
    "my": _MONTH + r"\s+(?P<y>\d{4})\b",
    "month": r"(?:(?P<rel>last|this)\s+)?" + _MONTH + r"(?!\w)(?!\s+\d{1,2}(?!\d))",  # "June 31" is no month
    "year": r"(?<![\w$£€.,/-])(?P<y>\d{4})(?![\w%]|[.,:/-]\d)",
    "decade": r"the\s+(?P<y>\d{3}0)s\b",
    "event": r"the\s+(?P<y>\d{4})(?=\s+[A-Za-z])",
    "day": r"(?P<rd>the\s+day\s+before\s+yesterday|(?:earlier\s+)?today|tonight|this\s+(?:morning|afternoon|evening)"
           r"|yesterday(?:\s+(?:morning|afternoon|evening))?|last\s+night)\b",
    "ago": _NUM + r"\s+(?P<unit>days?|weeks?)\s+ago\b",
    "rolling": r"(?P<the>the\s+)?(?P<kw>past|last|previous)\s+(?:" + _NUM
               + r"\s+)?(?P<unit>hours?|days?|weeks?|months?|years?)\b",
    "calendar": r"(?:earlier\s+)?(?:the\s+(?=previous))?(?P<rel>this|last|previous)\s+(?P<unit>weekend|week|month|year)\b",
    "weekday": r"(?:(?P<rel>last|this|past)\s+)?" + _WD + r"(?:\s+(?:morning|afternoon|evening|night))?\b",
}
_COMPILED = {kind: re.compile(_PREP + body, re.I) for kind, body in _PATTERNS.items()}


def _number(word: str | None) -> int | None:
    if word is None:
        return None
    if word.lower() in ("a", "an"):
        return 1
    from number_parser import parse_number  # lazy: only questions with number words pay for it

    value = parse_number(word.lower())
    return value if isinstance(value, int) else None


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def _minus_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, monthrange(y, m + 1)[1]))


@lru_cache(maxsize=4096)
def _parse_day(text: str, as_of: date) -> date | None:
    # dateparser earns its place here: ordinals, abbreviations, invalid days ("June 31"), and
    # the most recent existing day for a yearless one ("Feb 29" -> the last leap year).
    import dateparser  # lazy: importing it costs a tenth of a second

    settings = {"RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day), "PREFER_DATES_FROM": "past",
                "RETURN_AS_TIMEZONE_AWARE": False}
    found = dateparser.parse(text, languages=["en"], settings=settings)
    return found.date() if found else None


def _next_word(question: str, end: int) -> str:
    m = re.match(r"\s+([A-Za-z]+)", question[end:])
    return m.group(1) if m else ""


def _content_word_follows(question: str, end: int) -> bool:
    word = _next_word(question, end)
    return bool(word) and word.islower() and word not in _FUNCTION


def _anchor(kind: str, m: re.Match, question: str, as_of: date) -> tuple[date, date] | None:
    """The days `m` names, before its preposition is applied; None when it is not a time expression."""
    g = m.groupdict()
    mon = g.get("mon")
    month = (_MONTHS.get(mon.lower()) or _ABBREV.get(mon.lower().rstrip("."))) if mon else None
    year = int(g["y"]) if g.get("y") else None
    if year is not None and not 1800 <= year <= as_of.year + 1:
        return None  # "in 300 cases" never gets here (3 digits); "in 9999" is not a year we serve
    monday = as_of - timedelta(days=as_of.weekday())
    if kind == "iso":
        return (date(year, int(g["mo"]), int(g["d"])),) * 2  # "2026-02-30" raises: no date
    if kind in ("mdy", "dmy"):
        if mon.lower() == "may" and not year and (
                (mon == "may" and not g["ord"]) or (kind == "mdy" and _content_word_follows(question, m.end()))):
            return None  # the modal verb: lowercase "may 5 ...", or "May 5 people attend?"
        day = _parse_day(f"{mon.rstrip('.')} {int(g['d'])} {year or ''}".strip(), as_of)
        if day is None or day.month != month or day.day != int(g["d"]) or (year and day.year != year):
            return None
        return day, day
    if kind == "my":
        return _month_span(year, month) if mon != "may" else None  # "what may 2027 bring?"
    if kind == "month":
        if not (g["prep"] or g["rel"]) or not mon[0].isupper() or _next_word(question, m.end())[:1].isupper():
            return None  # a bare, lowercase or name-like month ("April Ryan") is not a month
        if (g["rel"] or "").lower() == "this":
            return _month_span(as_of.year, month)
        back = month > as_of.month or (month == as_of.month and (g["rel"] or "").lower() == "last")
        return _month_span(as_of.year - back, month)
    if kind == "year":
        if not g["prep"] or _content_word_follows(question, m.end()):
            return None
        return date(year, 1, 1), date(year, 12, 31)
    if kind == "decade":
        return date(year, 1, 1), date(year + 9, 12, 31)
    if kind == "event":
        # Only a past year: "the 2024 convention" asked in 2023 is this news, which recency
        # already ranks, while "the 1987 flood" is one the reports can only look back on.
        return (date(year, 1, 1), date(year, 12, 31)) if year < as_of.year - 1 else None
    if kind == "day":
        rd = " ".join(g["rd"].lower().split())
        back = 2 if rd.startswith("the day before") else 1 if rd.startswith(("yesterday", "last")) else 0
        return (as_of - timedelta(days=back),) * 2
    if kind == "ago":
        n = _number(g["n"])
        if not n:
            return None
        return (as_of - timedelta(days=n * (7 if g["unit"].lower().startswith("week") else 1)),) * 2
    if kind == "rolling":
        n, unit, kw = _number(g["n"]), g["unit"].lower().rstrip("s"), g["kw"].lower()
        if g["n"] is not None and not n:
            return None  # "the last few days": no number to count back
        if n is None:
            # "the past week" / "the last week" roll; bare "last week" is the calendar week.
            if g["unit"].lower().endswith("s") or not (kw == "past" or (kw == "last" and g["the"])):
                return None
            n = 1
        if unit in ("month", "year"):
            return _minus_months(as_of, n * (12 if unit == "year" else 1)), as_of
        return as_of - timedelta(days=-(-n // 24) if unit == "hour" else n * (7 if unit == "week" else 1)), as_of
    if kind == "calendar":
        rel, unit = g["rel"].lower(), g["unit"].lower()
        last = rel != "this"
        if unit == "week":
            start = monday - timedelta(days=7 * last)
            return start, start + timedelta(days=6)
        if unit == "weekend":
            start = monday + timedelta(days=5 - 7 * last)
            return start, start + timedelta(days=1)
        if unit == "month":
            first = _minus_months(as_of.replace(day=1), last)
            return _month_span(first.year, first.month)
        return date(as_of.year - last, 1, 1), date(as_of.year - last, 12, 31)
    if kind == "weekday":
        wd, rel = _WEEKDAYS.index(g["wd"].lower()), (g["rel"] or "").lower()
        if rel in ("this", "last"):
            return (monday + timedelta(days=wd - 7 * (rel == "last")),) * 2
        if _FUTURE.search(question):
            return (as_of + timedelta(days=(wd - as_of.weekday()) % 7),) * 2
        return (as_of - timedelta(days=(as_of.weekday() - wd) % 7),) * 2
    return None


def resolve(question: str, as_of: date) -> TimeRange | None:
    """The time range the question's most specific time expression names, or None if it has none."""
    found = []
    for kind, pattern in _COMPILED.items():
        for m in pattern.finditer(question):
            try:
                span = _anchor(kind, m, question, as_of)
            except (ValueError, OverflowError):  # "the past 3000 years" runs off the calendar
                span = None
            if span is not None:
                found.append((m, span))
    # Overlaps keep the longest match ("the day before yesterday" over "yesterday").
    kept: list[tuple[re.Match, tuple[date, date]]] = []
    for m, span in sorted(found, key=lambda f: (f[0].start() - f[0].end(), f[0].start())):
        if all(m.end() <= k.start() or m.start() >= k.end() for k, _ in kept):
            kept.append((m, span))
    if not kept:
        return None
    m, (start, end) = min(kept, key=lambda f: ((f[1][1] - f[1][0]).days, f[0].start()))
    if start <= as_of < end:
        end = as_of  # nothing after the day of asking has been reported yet
    prep = " ".join((m.group("prep") or "").lower().split())
    text = m.group(0)
    if prep in _SNAPSHOT:
        return TimeRange(None, end, text, by=True)
    if prep in ("since", "from"):
        return TimeRange(start, as_of, text)
    if prep == "before":
        return TimeRange(None, start - timedelta(days=1), text)
    if prep == "after":
        return TimeRange(end + timedelta(days=1), None, text)
    return TimeRange(start, end, text)


def strip_time_words(question: str, found: TimeRange | None) -> str:
    """The question without `found.text`, whitespace and stranded punctuation tidied.

    If nothing but punctuation would remain ("Yesterday?") the tidied question is kept,
    since an empty retrieval query finds nothing.
    """
    out = question.replace(found.text, " ", 1) if found and found.text else question
    out = re.sub(r"\s+", " ", out)
    out = re.sub(r"\s+([?.!,;:])", r"\1", out)  # "happened ?" -> "happened?"
    out = re.sub(r"[,;:]+(?=[?.!,;:]|$)", "", out)  # "in Almaty,?" -> "in Almaty?"
    out = re.sub(r"^[\s,;:]+", "", out).strip()
    if not re.search(r"\w", out):
        return " ".join(question.split())
    if question[:1].isupper() and out[:1].islower():
        out = out[0].upper() + out[1:]  # "As of Tuesday, how many ..." -> "How many ..."
    return out

"""Days: article publication dates, parsed once at load time, and comparable day numbers.

``parse_published`` turns whatever a corpus file says ("2026-03-03", "March 3,
2026", "3 Mar 2026 14:05 GMT", a YAML date) into one normalised string, which is
what ``Article.published`` holds: "YYYY-MM-DD" when only the day is known,
"YYYY-MM-DDTHH:MM:SSZ" (UTC) when a time of day is known. Both start with the
ISO day, so ``day_number`` reads either.

A day number is the proleptic Gregorian ordinal (`date.toordinal`), so
"how many days before as_of" is a subtraction. Undated articles have none and
are never excluded or favoured by date.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

from .errors import RagError

__all__ = [
    "MIN_YEAR",
    "check_published",
    "day_number",
    "parse_as_of",
    "parse_published",
    "today",
]

# Dates before this are treated as bad input (typos such as "0202-01-06", or a
# historical date in the wrong field), not as the day a news article appeared.
MIN_YEAR = 1800
# No real date is written in more characters than this; longer values are prose, and
# dateparser gets slow on them.
_MAX_DATE_CHARS = 100
_WS_RUN = re.compile(r"\s+")
# Lazily built: importing dateparser costs a noticeable fraction of a second, and
# corpora of ISO dates never need it.
_dateparser: Any = None


@lru_cache(maxsize=65536)
def day_number(published: str | None) -> int | None:
    """The day of an ISO date or timestamp ("2023-01-05", "2023-01-05T10:00:00Z"), else None."""
    if not published:
        return None
    try:
        return date.fromisoformat(str(published)[:10]).toordinal()
    except ValueError:
        return None


def today() -> str:
    return date.today().isoformat()


def parse_as_of(value: str | date | datetime | None) -> int | None:
    """The day number of an ``as_of`` given as "YYYY-MM-DD" (or a date); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().toordinal()
    if isinstance(value, date):
        return value.toordinal()
    day = day_number(str(value).strip())
    if day is None:
        raise RagError(f"as_of {value!r} is not a date; use YYYY-MM-DD")
    return day


def parse_published(value: str | date | datetime | None) -> str | None:
    """``value`` as "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC), or None; never raises.

    See ``check_published`` for what is accepted.
    """
    return check_published(value)[0]


def check_published(value: str | date | datetime | None) -> tuple[str | None, str | None]:
    """``(normalised, problem)`` for a publication date; never raises.

    ``normalised`` is "YYYY-MM-DD" when only a day is known, "YYYY-MM-DDTHH:MM:SSZ"
    when a time of day is known (converted to UTC; a time without a zone is taken
    as UTC). ``problem`` is None for a good date or a missing one (None/blank), else
    a short reason ("is not a date", "is before 1800") for the caller's warning.

    ISO 8601 (``datetime.fromisoformat``) is tried first because corpora hold
    thousands of ISO dates and dateparser is far slower. Anything else goes to
    dateparser with these choices:

    * ``REQUIRE_PARTS`` day, month and year: "March 2026" or "March 3" is not a
      date, because the missing day or year would be invented (dateparser fills
      them from today) and then look as precise as a real one.
    * relative forms ("yesterday", "3 days ago") are off: they would be read
      against the day the corpus is loaded, not the day the article appeared.
      Bare epoch numbers are off too, so a stray number is not a 1970s date.
    * English only: the corpus is English news, and language detection is slow.
      Numeric dates use dateparser's English order, month first ("03/04/2026" is
      4 March).
    """
    if value is None:
        return None, None
    try:
        if isinstance(value, datetime):
            when = _normalise_time(value)
        elif isinstance(value, date):
            when = value.isoformat()
        else:
            text = _WS_RUN.sub(" ", str(value)).strip()
            if not text:
                return None, None
            when = _from_iso(text) or _from_words(text)
    except (ValueError, OverflowError, TypeError):
        when = None
    if when is None:
        return None, "is not a date"
    if int(when[:4]) < MIN_YEAR:
        return None, f"is before {MIN_YEAR}"
    return when, None


def _from_iso(text: str) -> str | None:
    """The fast path: ISO 8601 forms ("2026-03-03", "2026-03-03T14:05:00Z")."""
    try:
        return date.fromisoformat(text).isoformat()  # a day and nothing else
    except ValueError:
        pass
    try:
        return _normalise_time(datetime.fromisoformat(text))
    except ValueError:
        return None


def _from_words(text: str) -> str | None:
    """Lenient parsing of written dates ("March 3, 2026", "3 Mar 2026 14:05 GMT")."""
    if len(text) > _MAX_DATE_CHARS:
        return None
    try:
        found = _parser().get_date_data(text)
    except Exception:  # noqa: BLE001 -- dateparser has raised odd errors on odd input
        return None
    if found is None or found.date_obj is None:
        return None
    if found.period == "time":  # a time of day was written, not defaulted to midnight
        return _normalise_time(found.date_obj)
    return found.date_obj.date().isoformat()


def _normalise_time(when: datetime) -> str:
    """A datetime as "YYYY-MM-DDTHH:MM:SSZ" in UTC (naive times are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    # isoformat, not strftime: strftime("%Y") does not zero-pad years before 1000.
    utc = when.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    return utc.isoformat() + "Z"


def _parser() -> Any:
    global _dateparser
    if _dateparser is None:
        from dateparser.date import DateDataParser

        _dateparser = DateDataParser(
            languages=["en"],
            settings={
                "REQUIRE_PARTS": ["day", "month", "year"],
                "PARSERS": ["custom-formats", "absolute-time"],
                "RETURN_TIME_AS_PERIOD": True,  # period "time" says a time was given
                "TIMEZONE": "UTC",
                "TO_TIMEZONE": "UTC",
                "RETURN_AS_TIMEZONE_AWARE": True,
            },
        )
    return _dateparser

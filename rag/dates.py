"""Days: article publication dates and a question's "as of" day as comparable day numbers.

A day number is the proleptic Gregorian ordinal (`date.toordinal`), so
"how many days before as_of" is a subtraction. Undated articles have none and
are never excluded or favoured by date.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from .errors import RagError

__all__ = ["day_number", "parse_as_of", "today"]


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

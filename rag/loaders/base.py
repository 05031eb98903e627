"""Helpers shared by the format loaders: bytes to text, text cleaning, building articles.

Each format module turns one file into a ``LoadResult``; the pieces they all need
(decoding with readable errors, ``clean_text``, title fallbacks, ``Article``
construction) live here so every format behaves the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from rag.dates import check_published
from rag.types import Article, LoadIssue, LoadResult, text_id

# Lines dropped from the END of an article only (compared case-insensitively, as a
# whole line, with runs of whitespace collapsed). They are comment-form and
# share/newsletter boilerplate that scrapers keep after the last paragraph; they
# are never removed from the middle of the text, where they could be real prose.
TRAILING_BOILERPLATE: tuple[str, ...] = (
    "read more",
    "read more »",
    "continue reading",
    "post comment",
    "post a comment",
    "leave a comment",
    "leave a reply",
    "cancel reply",
    "comments",
    "your email address will not be published.",
    "your email address will not be published. required fields are marked *",
    "required fields are marked *",
    "share this article",
    "share this story",
    "share",
    "advertisement",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "related articles",
)
_BOILERPLATE_SET = frozenset(TRAILING_BOILERPLATE)

# A first line longer than this is a paragraph, not a headline: it stays in the text
# and only a truncated copy becomes the title (see ``split_title``).
MAX_TITLE_LINE = 200
# Titles derived from body text are cut to about this many characters.
DERIVED_TITLE_CHARS = 80

_MANY_BLANK_LINES = re.compile(r"\n{4,}")  # 3+ blank lines == 4+ newlines in a row
_WS_RUN = re.compile(r"\s+")


class LoadError(Exception):
    """A problem with one input (a file, or one record of it), with a short reason."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def issue(self, path: Path | str) -> LoadIssue:
        return LoadIssue(str(path), self.reason, self.line)


def failed(path: Path | str, error: LoadError) -> LoadResult:
    """A result holding only the issue for ``error``."""
    return LoadResult(issues=[error.issue(path)])


def read_bytes(path: Path) -> bytes:
    """The file's bytes; raises ``LoadError`` if unreadable, empty or binary."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise LoadError("is a directory, not a file") from None
    except PermissionError:
        raise LoadError("permission denied; cannot read the file") from None
    except FileNotFoundError:
        raise LoadError("no such file") from None
    except OSError as exc:
        raise LoadError(f"cannot read the file ({exc.strerror or exc})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise LoadError("empty file")
    # Text files never contain NUL; UTF-16/32 text and binaries (PDF, images) do.
    if b"\x00" in data:
        raise LoadError("binary file (contains NUL bytes), not UTF-8 text")
    return data


def decode(data: bytes, *, in_line: bool = False) -> str:
    """UTF-8 ``data`` as text with \\n newlines; raises ``LoadError`` naming the bad byte.

    ``in_line`` says ``data`` is one line of a file, so the position is given
    within that line (1-based) rather than as a file offset (0-based).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        where = (
            f"position {exc.start + 1} of the line"
            if in_line
            else f"offset {exc.start}"
        )
        raise LoadError(
            f"not UTF-8 text (byte 0x{bad:02x} at {where}); save it as UTF-8"
        ) from None
    return normalise_newlines(text)


def read_text(path: Path) -> str:
    """The whole file as UTF-8 text (BOM dropped, newlines normalised)."""
    text = decode(read_bytes(path))
    if not text.strip():
        raise LoadError("empty file")
    return text


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _key(line: str) -> str:
    return _WS_RUN.sub(" ", line.strip()).casefold()


def is_boilerplate(line: str) -> bool:
    return _key(line) in _BOILERPLATE_SET


def clean_text(text: str) -> str:
    """Tidy article text: the exact string other modules index and cite into.

    Normalises newlines to \\n, strips trailing whitespace on each line, drops
    leading blank lines, collapses 3+ blank lines to 2, and removes trailing
    comment-form/boilerplate lines (``TRAILING_BOILERPLATE``) at the end only.
    Nothing else in the body changes. Idempotent.
    """
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    # Peel boilerplate (and the blank lines around it) off the end, repeatedly, so
    # "Read More / Post comment / Your email address..." all go.
    while lines and (not lines[-1] or is_boilerplate(lines[-1])):
        lines.pop()
    cleaned = "\n".join(lines).lstrip("\n")
    return _MANY_BLANK_LINES.sub("\n\n\n", cleaned)


def clean_title(title: str) -> str:
    """A one-line title: whitespace runs collapsed, ends stripped."""
    return _WS_RUN.sub(" ", title).strip()


def derive_title(text: str, limit: int = DERIVED_TITLE_CHARS) -> str:
    """A title from the first non-empty line of ``text``, cut at a word to ~``limit``."""
    for line in text.split("\n"):
        line = clean_title(line)
        if line:
            break
    else:
        return ""
    if len(line) <= limit:
        return line
    cut = line[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def split_title(text: str) -> tuple[str, str]:
    """Split off the first non-empty line as the title; return ``(title, rest)``.

    A first line longer than ``MAX_TITLE_LINE`` is body prose rather than a
    headline, so it is kept in the text and a truncated copy is the title.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            if len(line.strip()) > MAX_TITLE_LINE:
                return derive_title(line), text
            return clean_title(line), "\n".join(lines[i + 1 :])
    return "", ""


def field_str(record: dict[str, Any], name: str, line: int | None = None) -> str | None:
    """``record[name]`` as a stripped string, or None when absent/null/blank.

    ``id`` may also be an int (stringified). ``published`` may also be a date or
    datetime (YAML parses ``2022-01-06`` and ``2022-01-06 10:00`` as those; they
    become ISO strings for ``read_published``) or a number (YAML reads ``published:
    2022`` as one; it is stringified, so it becomes a bad-date warning rather than
    costing the article). Any other type raises ``LoadError`` naming the field.
    """
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        check_encodable(value, name, line)
        return value.strip() or None
    if name == "id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if name == "published" and isinstance(value, dt.date):
        return value.isoformat()  # a datetime keeps its time (and zone, if any)
    if name == "published" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    kind = "a string or an integer" if name == "id" else "a string"
    raise LoadError(f'field "{name}" must be {kind}, got {kind_of(value)}', line)


def read_published(value: str | None) -> tuple[str | None, str | None]:
    """``(published, warning)``: the normalised date (see ``rag.dates``) and a reason.

    A bad date never costs the article: ``published`` is then None and ``warning``
    is a one-line issue reason such as ``published "next Tuesdayish" is not a date;
    indexed without one``. A missing date is no warning.
    """
    published, problem = check_published(value)
    if problem is None:
        return published, None
    shown = clean_title(str(value))
    if len(shown) > 60:
        shown = shown[:60] + "…"
    return None, f'published "{shown}" {problem}; indexed without one'


def check_encodable(value: str, name: str, line: int | None = None) -> None:
    """Reject lone surrogates (JSON "\\ud800" escapes): they cannot be saved or hashed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        reason = f'field "{name}" contains an invalid \\u escape (lone surrogate)'
        raise LoadError(reason, line) from None


def kind_of(value: object) -> str:
    """A JSON-ish name for ``value``'s type, for messages ("a number", "a list")."""
    kinds = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return kinds.get(type(value), type(value).__name__)


def make_article(
    path: Path | str,
    text: str,
    title: str | None = None,
    *,
    id: str | None = None,
    url: str | None = None,
    source: str | None = None,
    published: str | None = None,
    line: int | None = None,
) -> Article:
    """An ``Article`` with cleaned text; raises ``LoadError`` if the text ends up empty.

    The id is the explicit ``id`` when given, else ``text_id`` of the cleaned
    text; a missing title is derived from the text's first line. ``published``
    is stored as given, so it must already be normalised (``read_published``).
    """
    body = clean_text(text)
    if not body.strip():
        raise LoadError("no article text (empty after cleaning)", line)
    final_title = clean_title(title) if title else ""
    return Article(
        id=id if id else text_id(body),
        title=final_title or derive_title(body),
        text=body,
        path=str(path),
        url=url or None,
        source=source or None,
        published=published or None,
    )

"""HTML articles: trafilatura extracts the main text and metadata, dropping page chrome.

The publication date comes from htmldate (the page's own original date, so a
"last modified" date does not win), falling back to trafilatura's; it is stored
as a day ("YYYY-MM-DD"), htmldate's granularity.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from rag.loaders.base import LoadError, failed, make_article, read_published, read_text
from rag.types import Article, LoadIssue, LoadResult

# Markup (meta tags, <time>, JSON-LD) is trusted back to this day; a date found only in
# the page's text must be on or after htmldate's own floor (1995, the early web), as
# older ones in body text are more often history being told than the publication day.
_MARKUP_MIN_DATE = "1800-01-01"
# English month stems ("Mar" matches "Mar", "Mar." and "March"); not the locale's names.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SUFFIXES: tuple[str, ...] = (".html", ".htm")


def load(path: Path) -> LoadResult:
    """Load one HTML page as one article (main text as plain text, no scripts/nav)."""
    try:
        article, warning = _extract(path, read_text(path))
    except LoadError as exc:
        return failed(path, exc)
    issues = [LoadIssue(str(path), warning)] if warning else []
    return LoadResult(articles=[article], issues=issues)


def _extract(path: Path, html: str) -> tuple[Article, str | None]:
    """The page's article and its bad-date warning (None when the date is fine)."""
    try:
        import trafilatura
    except ImportError:
        raise LoadError(
            "HTML support needs trafilatura: pip install trafilatura"
        ) from None
    # trafilatura logs a warning for every page it cannot use; we report an issue instead.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    if "html" not in html[:50].lower():
        # trafilatura rejects a bare fragment ("<p>..</p>" saved alone) as "not HTML";
        # its docs say to wrap fragments first.
        html = f"<html><body>{html}</body></html>"
    try:
        doc = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,  # reader comments are not the article
            include_formatting=False,  # plain text, not markdown
            include_links=False,
            include_images=False,
        )
    except Exception as exc:  # noqa: BLE001 -- lxml/trafilatura fail in many ways on bad markup
        raise LoadError(f"cannot parse the HTML ({type(exc).__name__})") from None
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    if not text.strip():
        raise LoadError("no article text found")
    # trafilatura ends each block with one newline; a blank line between paragraphs
    # matches the other formats, so paragraph-aware chunking sees the same shape.
    paragraphs = [line for line in text.split("\n") if line.strip()]
    published, warning = read_published(_page_date(html, doc))
    article = make_article(
        path,
        "\n\n".join(paragraphs),
        doc.title,
        url=doc.url,
        source=doc.sitename,
        published=published,
    )
    return article, warning


def _page_date(html: str, doc: Any) -> str | None:
    """The page's publication day: markup first, then dates in its text, then trafilatura's.

    htmldate's text search falls back to a copyright year or a bare "March 2026" and
    reports it as the 1st of the month; such a guess is dropped unless the page
    actually names that day, so a footer's "© 2026" does not date an old article.
    """
    from htmldate import find_date
    from trafilatura.utils import load_html

    url = getattr(doc, "url", None)
    found = None
    try:
        # trafilatura's loader: htmldate's own would download a page that is just a URL.
        tree = load_html(html)
        if tree is not None:
            markup = find_date(tree, extensive_search=False, original_date=True, url=url, min_date=_MARKUP_MIN_DATE)
            if markup:
                return markup
            found = find_date(tree, extensive_search=True, original_date=True, url=url)
    except Exception:  # noqa: BLE001 -- a date heuristic must not cost the article
        found = None
    found = found or getattr(doc, "date", None)
    if found and found.endswith("-01") and not _names_first_of_month(found, html):
        return None
    return found


def _names_first_of_month(day: str, html: str) -> bool:
    """Whether ``html`` writes ``day`` (a "YYYY-MM-01") as a full date, not a month or year."""
    try:
        when = date.fromisoformat(day[:10])
    except ValueError:
        return False
    month, year, num = _MONTHS[when.month - 1], when.year, when.month
    patterns = (
        rf"{year}[-/.]0?{num}[-/.]0?1\b",
        rf"\b0?1[-/.]0?{num}[-/.]{year}",
        rf"\b0?{num}[-/.]0?1[-/.]{year}",
        rf"\b{month}[a-z]*\.?\s+0?1(?:st)?,?\s+{year}",
        rf"\b0?1(?:st)?\s+(?:of\s+)?{month}[a-z]*\.?,?\s+{year}",
    )
    return any(re.search(p, html, re.I) for p in patterns)

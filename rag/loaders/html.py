"""HTML articles: trafilatura extracts the main text and metadata, dropping page chrome."""

from __future__ import annotations

import logging
from pathlib import Path

from rag.loaders.base import LoadError, failed, make_article, read_text
from rag.types import Article, LoadResult

SUFFIXES: tuple[str, ...] = (".html", ".htm")


def load(path: Path) -> LoadResult:
    """Load one HTML page as one article (main text as plain text, no scripts/nav)."""
    try:
        return LoadResult(articles=[_extract(path, read_text(path))])
    except LoadError as exc:
        return failed(path, exc)


def _extract(path: Path, html: str) -> Article:
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
    return make_article(
        path,
        "\n\n".join(paragraphs),
        doc.title,
        url=doc.url,
        source=doc.sitename,
        published=doc.date,
    )

"""What the chat page shows and accepts, as pure functions: escaped HTML and safe uploads.

Everything that reaches the browser from an article goes through `html.escape`,
so an article holding ``<script>`` shows that text and runs nothing. Uploads
keep only a cleaned base name, an allowed suffix and a bounded size, and are
written inside the corpus folder whatever name the browser sent.
"""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path

from .errors import RagError
from .loaders import SUPPORTED_SUFFIXES
from .types import Answer, Article, Citation

__all__ = [
    "UPLOAD_SUFFIXES",
    "answer_markdown",
    "sources_html",
    "article_html",
    "safe_name",
    "save_upload",
    "save_pasted",
]

UPLOAD_SUFFIXES = tuple(s for s in SUPPORTED_SUFFIXES if s != ".markdown")
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024


def answer_markdown(answer: Answer | None, partial: str = "") -> str:
    """The chat bubble: escaped text; a short answer leads in bold on its own line, and an
    abstention is set apart as a warning block."""
    text = answer.text if answer is not None else partial
    if answer is not None and answer.abstained:
        return f"> ⚠️ **Not in the articles.** {html.escape(text, quote=False)}"
    short = answer.short.rstrip(" .") if answer is not None and answer.short else ""
    if short and text.startswith(short):
        rest = text[len(short) :].lstrip(". ")
        return f"**{html.escape(short, quote=False)}**\n\n{html.escape(rest, quote=False)}"
    return html.escape(text, quote=False)


def _highlight(passage: str, rel_start: int, rel_end: int) -> str:
    rel_start = max(0, min(len(passage), rel_start))
    rel_end = max(rel_start, min(len(passage), rel_end))
    return (
        html.escape(passage[:rel_start])
        + '<mark class="cited">'
        + html.escape(passage[rel_start:rel_end])
        + "</mark>"
        + html.escape(passage[rel_end:])
    )


def _source_card(c: Citation) -> str:
    outlet = f" · {html.escape(c.source)}" if c.source else ""
    date = f" · {html.escape(c.day)}"
    passage = _highlight(c.text, c.start - c.passage_start, c.end - c.passage_start)
    copies = f'<div class="also-in">also in: {html.escape(c.also_in_text)}</div>' if c.also_in else ""
    return (
        f'<div class="source" id="source-{c.n}">'
        f'<div class="source-head"><span class="marker">[{c.n}]</span> '
        f'<span class="source-title">{html.escape(c.title)}</span>{outlet}{date}</div>'
        f'<div class="passage">{passage}</div>{copies}</div>'
    )



def sources_html(answer: Answer | None) -> str:
    """The sources panel for the latest answer."""
    if answer is None:
        return '<div class="sources-empty">Sources for the latest answer appear here.</div>'
    if answer.abstained or not answer.citations:
        return '<div class="sources-empty">No source answers this question.</div>'
    return "".join(_source_card(c) for c in answer.citations)


def article_html(article: Article, start: int | None = None, end: int | None = None) -> str:
    """A whole article, escaped, with the cited span highlighted."""
    head = f"<h3>{html.escape(article.title)}</h3>"
    meta = " · ".join(html.escape(x) for x in (article.source, article.published) if x)
    body = _highlight(article.text, start, end) if start is not None and end is not None else html.escape(article.text)
    return f'<div class="article">{head}<div class="meta">{meta}</div><div class="article-text">{body}</div></div>'


def safe_name(name: str) -> str:
    """A file name that stays inside its folder: base name only, tame characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\-]+", "_", base).strip("._") or "article"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    return (stem[:80] or "article") + (f".{suffix.lower()[:10]}" if suffix else "")


def _unique(folder: Path, name: str) -> Path:
    path = folder / name
    n = 1
    while path.exists():
        stem, dot, suffix = name.rpartition(".")
        path = folder / (f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}")
        n += 1
    return path


def save_upload(src: str | Path, original_name: str, folder: str | Path, *, max_bytes: int = DEFAULT_MAX_UPLOAD) -> Path:
    """Copy an uploaded file into ``folder`` under a safe, unused name."""
    name = safe_name(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RagError(f"{original_name}: file type not allowed; use one of {', '.join(UPLOAD_SUFFIXES)}")
    size = Path(src).stat().st_size
    if size > max_bytes:
        raise RagError(f"{original_name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dest = _unique(folder, name)
    if folder.resolve() not in dest.resolve().parents:  # defence in depth; safe_name already prevents it
        raise RagError(f"{original_name}: invalid file name")
    shutil.copyfile(src, dest)
    return dest


def save_pasted(title: str, text: str, folder: str | Path, *, max_bytes: int = DEFAULT_MAX_UPLOAD) -> Path:
    """Write pasted article text as a .txt file (title on the first line)."""
    title = " ".join((title or "").split())
    text = (text or "").strip()
    if not title:
        raise RagError("give the pasted article a title")
    if not text:
        raise RagError("paste the article's text")
    data = f"{title}\n\n{text}\n".encode()
    if len(data) > max_bytes:
        raise RagError(f"the pasted text is over the {max_bytes / 1e6:.0f} MB limit")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dest = _unique(folder, safe_name(f"{title[:60]}-{int(time.time())}.txt"))
    dest.write_bytes(data)
    return dest

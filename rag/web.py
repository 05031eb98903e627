"""What the chat page shows and accepts, as pure functions: escaped HTML and safe uploads.

Everything that reaches the browser from an article goes through `html.escape`,
so an article holding ``<script>`` shows that text and runs nothing. Uploads
keep only a cleaned base name, an allowed suffix and a bounded size, and are
written inside the corpus folder whatever name the browser sent.

An upload is written whole before it has its name: into a hidden temporary file
(created with ``open(..., "xb")``, so two writers never share one; the corpus
walkers skip hidden files), synced, then given an unused name in one step. That
step is ``os.link``, which fails rather than overwrite a file that appeared
meanwhile; where hard links are not supported, the name is claimed with
``open(..., "xb")`` and the content moved over it with ``os.replace``. An indexer
scanning the folder never sees half a file, and two uploads of one name never
overwrite each other.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
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


def _candidates(name: str):
    yield name
    stem, dot, suffix = name.rpartition(".")
    n = 1
    while True:
        yield f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
        n += 1


def _write_new(folder: Path, name: str, write: Callable) -> Path:
    """A new file in ``folder`` named ``name`` (or ``name-1``, ``name-2``...), whose content ``write(f)``
    puts in, appearing only once complete (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        for candidate in _candidates(name):
            dest = folder / candidate
            try:
                os.link(tmp, dest)
                return dest
            except FileExistsError:
                continue
            except OSError:  # no hard links here: claim the name, then move the content over it
                try:
                    open(dest, "xb").close()
                except FileExistsError:
                    continue
                os.replace(tmp, dest)
                return dest
    finally:
        tmp.unlink(missing_ok=True)
    raise AssertionError("unreachable")  # pragma: no cover -- _candidates never ends


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
    if folder.resolve() not in (folder / name).resolve().parents:  # defence in depth; safe_name already prevents it
        raise RagError(f"{original_name}: invalid file name")
    with open(src, "rb") as source:
        return _write_new(folder, name, lambda f: shutil.copyfileobj(source, f))


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
    return _write_new(Path(folder), safe_name(f"{title[:60]}-{int(time.time())}.txt"), lambda f: f.write(data))

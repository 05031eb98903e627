"""Tests for rag.loaders: each format's happy path and the bad input it must survive."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag import loaders
from rag.loaders import SUPPORTED_SUFFIXES, clean_text, load_file, load_path
from rag.types import LoadResult, text_id

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
KAZAKHSTAN = CORPUS / "kazakhstan-unrest.txt"

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Floods hit the valley | Daily News</title>
<meta property="og:site_name" content="Daily News">
<meta property="article:published_time" content="2022-01-06T10:00:00Z">
<link rel="canonical" href="https://example.com/floods">
<script>alert(1)</script></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">Sport</a></li></ul></nav>
<header><h1>Floods hit the valley</h1></header>
<article>
<p>Heavy rain caused the river to burst its banks on Thursday, flooding hundreds of
homes in the valley.</p>
<script>alert(1)</script>
<p>Emergency crews evacuated residents overnight and the mayor declared a state of
emergency for the region.</p>
<p>Forecasters expect more rain later in the week, and officials urged people to stay
away from the river.</p>
</article>
<footer>Copyright 2022 Daily News. All rights reserved.</footer>
</body></html>
"""

MARKDOWN_WITH_FRONT_MATTER = """---
title: Budget passes after long debate
source: Reuters
url: https://example.com/budget
published: 2022-01-06
---
# Budget passes after long debate

Lawmakers approved the budget late on Wednesday.

The vote was 51 to 49.
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        # newline="" so "\r\n" in a test string reaches the file as written.
        path.write_text(content, encoding="utf-8", newline="")
    return path


def only_article(result: LoadResult):
    assert result.issues == [], [str(i) for i in result.issues]
    assert len(result.articles) == 1
    return result.articles[0]


def only_issue(result: LoadResult):
    assert result.articles == []
    assert len(result.issues) == 1, [str(i) for i in result.issues]
    return result.issues[0]


# --- the real corpus file ---------------------------------------------------------


def test_kazakhstan_title_kept_and_comment_form_dropped() -> None:
    article = only_article(load_path(KAZAKHSTAN))
    assert (
        article.title
        == "Dozens ‘Liquidated’ in Kazakhstan Ahead of Russian Troops’ Arrival"
    )
    assert article.text.startswith("Dozens of demonstrators have been reported dead")
    for junk in ("Read More", "Post comment", "email address"):
        assert junk not in article.text
    assert article.text.endswith("part of the Russian Federation.")
    # The title line is not repeated in the text.
    assert "Liquidated’ in Kazakhstan Ahead" not in article.text
    assert article.path == str(KAZAKHSTAN)
    assert article.id == text_id(article.text)


def test_corpus_folder_loads_cleanly() -> None:
    result = load_path(CORPUS)
    assert result.issues == []
    assert [a.path for a in result.articles] == sorted(a.path for a in result.articles)


# --- ids --------------------------------------------------------------------------


def test_text_id_is_stable() -> None:
    assert text_id("hello") == text_id("hello")
    assert text_id("hello") != text_id("hello!")
    assert len(text_id("hello")) == 12
    # sha256("hello")[:12]: pinned so an accidental change of the scheme shows up.
    assert text_id("hello") == "2cf24dba5fb0"


def test_same_file_loads_with_same_id_twice(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Title\n\nSome body text.\n")
    assert load_path(path).articles[0].id == load_path(path).articles[0].id


# --- clean_text -------------------------------------------------------------------


def test_clean_text_drops_trailing_boilerplate_only() -> None:
    text = "Para one.\n\nRead More\n\nPara two.  \n\n\n\n\nPara three.\n\nShare this article\n"
    text += "ADVERTISEMENT\n\n  Leave a comment  \nSign up for our newsletter\n"
    assert clean_text(text) == "Para one.\n\nRead More\n\nPara two.\n\n\nPara three."


def test_clean_text_normalises_newlines_and_is_idempotent() -> None:
    text = "\n\nA\r\nB\rC\t \n\n\n\n\nD"
    once = clean_text(text)
    assert once == "A\nB\nC\n\n\nD"
    assert clean_text(once) == once


def test_clean_text_keeps_body_characters() -> None:
    body = "  Indented line.\nКириллица — 中文。\n* bullet"
    assert clean_text(body) == body


# --- .txt -------------------------------------------------------------------------


def test_txt_title_is_first_nonempty_line_and_removed_from_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt", "\n\n  My Title  \n\nFirst paragraph.\n\nSecond.\n"
    )
    article = only_article(load_file(path))
    assert article.title == "My Title"
    assert article.text == "First paragraph.\n\nSecond."


def test_txt_bom_and_crlf(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt", b"\xef\xbb\xbfTitle\r\n\r\nLine one.\r\nLine two.\r\n"
    )
    article = only_article(load_file(path))
    assert article.title == "Title"
    assert article.text == "Line one.\nLine two."


def test_txt_title_only_is_an_issue(tmp_path: Path) -> None:
    issue = only_issue(load_file(write(tmp_path / "a.txt", "Just a title\n\n")))
    assert "no article text" in issue.reason


def test_txt_long_first_line_is_body_not_title(tmp_path: Path) -> None:
    # A file with no headline: the first paragraph must not vanish from the text.
    para = "word " * 60
    article = only_article(load_file(write(tmp_path / "a.txt", para + "\n\nMore.\n")))
    assert article.text.startswith(para.strip())
    assert 0 < len(article.title) <= 81


def test_non_english_text_is_intact(tmp_path: Path) -> None:
    body = "Президент выступил с обращением.\n\n总统发表了讲话。这是第二句。"
    article = only_article(
        load_file(write(tmp_path / "ru.txt", "Заголовок\n\n" + body))
    )
    assert article.title == "Заголовок"
    assert article.text == body
    record = {"title": "中文标题", "text": body}
    line = json.dumps(
        record
    )  # ensure_ascii: \u escapes must decode back to the same text
    article = only_article(load_file(write(tmp_path / "zh.jsonl", line + "\n")))
    assert (article.title, article.text) == ("中文标题", body)


# --- bad bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".jsonl", ".json"])
def test_not_utf8_is_an_issue(tmp_path: Path, suffix: str) -> None:
    path = write(
        tmp_path / f"latin1{suffix}", "Café\n\nCrème brûlée.".encode("latin-1")
    )
    result = load_file(path)
    assert result.articles == []
    # .jsonl is decoded line by line (one bad line costs one record), so it reports
    # each bad line; the other formats report the file once.
    assert len(result.issues) == (2 if suffix == ".jsonl" else 1)
    issue = result.issues[0]
    assert "not UTF-8" in issue.reason and "save it as UTF-8" in issue.reason
    assert "0xe9" in issue.reason
    assert issue.path == str(path)


def test_not_utf8_names_the_offset(tmp_path: Path) -> None:
    issue = only_issue(load_file(write(tmp_path / "a.txt", b"Caf\xe9 title\n\nbody")))
    assert issue.reason == "not UTF-8 text (byte 0xe9 at offset 3); save it as UTF-8"


@pytest.mark.parametrize("content", [b"", b"   \n\n\t \r\n", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".jsonl", ".json"])
def test_empty_file_is_an_issue(tmp_path: Path, suffix: str, content: bytes) -> None:
    issue = only_issue(load_file(write(tmp_path / f"empty{suffix}", content)))
    assert issue.reason == "empty file"


@pytest.mark.parametrize("suffix", [".txt", ".md", ".jsonl"])
def test_binary_file_is_an_issue(tmp_path: Path, suffix: str) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    issue = only_issue(load_file(write(tmp_path / f"image{suffix}", png)))
    assert "binary" in issue.reason


def test_utf16_file_is_reported_not_garbled(tmp_path: Path) -> None:
    # Windows editors save "Unicode" as UTF-16, which is full of NUL bytes.
    path = write(tmp_path / "a.txt", "Title\n\nBody".encode("utf-16"))
    assert "not UTF-8" in only_issue(load_file(path)).reason


def test_directory_and_missing_file_are_issues(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    assert "directory" in only_issue(load_file(tmp_path / "folder.txt")).reason
    assert "directory" in only_issue(load_file(tmp_path)).reason
    assert "no such file" in only_issue(load_path(tmp_path / "missing.txt")).reason
    assert "no such file" in only_issue(load_path(tmp_path / "missing")).reason


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root can read anything"
)
def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", "Title\n\nBody")
    path.chmod(0)
    try:
        assert "permission denied" in only_issue(load_file(path)).reason
    finally:
        path.chmod(0o644)


def test_unsupported_file_given_directly_is_an_issue(tmp_path: Path) -> None:
    issue = only_issue(load_path(write(tmp_path / "report.pdf", b"%PDF-1.4")))
    assert "unsupported file type '.pdf'" in issue.reason
    assert ".txt" in issue.reason


def test_loader_crash_becomes_an_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(path: Path) -> LoadResult:
        raise RuntimeError("bug")

    monkeypatch.setitem(loaders._LOADERS, ".txt", boom)
    issue = only_issue(load_path(write(tmp_path / "a.txt", "Title\n\nBody")))
    assert "internal error" in issue.reason


# --- .jsonl / .json -----------------------------------------------------------------


def test_jsonl_mixed_good_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"id": "a1", "title": "Good one", "text": "The first good article.", "url": "https://x.org/1"}',
        '{"id": "broken", "text": ',
        '{"id": "no-text", "title": "Missing text"}',
        '{"text": 5}',
        "",
        '{"id": "a1", "text": "Same id again."}',
        '{"id": 7, "text": "Second good article.\\nWith two lines.", "published": "2022-01-06"}',
        '{"text": "Title of wrong type.", "title": ["a", "b"]}',
        '{"text": "   "}',
        "[1, 2]",
    ]
    result = load_file(write(tmp_path / "news.jsonl", "\n".join(lines) + "\n"))

    assert [a.id for a in result.articles] == ["a1", "7"]
    first, second = result.articles
    assert (first.title, first.text, first.url) == (
        "Good one",
        "The first good article.",
        "https://x.org/1",
    )
    assert second.title == "Second good article."  # derived from the first line
    assert second.published == "2022-01-06"
    assert second.source is None

    by_line = {issue.line: issue.reason for issue in result.issues}
    assert sorted(by_line) == [2, 3, 4, 6, 8, 9, 10]
    assert "malformed JSON" in by_line[2]
    assert by_line[3] == 'missing "text" field'
    assert by_line[4] == 'field "text" must be a string, got a number'
    assert 'duplicate id "a1"' in by_line[6] and "line 1" in by_line[6]
    assert by_line[8] == 'field "title" must be a string, got a list'
    assert by_line[9] == 'field "text" is empty'
    assert "expected a JSON object" in by_line[10]
    assert all(issue.path == str(tmp_path / "news.jsonl") for issue in result.issues)


def test_jsonl_bad_utf8_line_costs_only_that_line(tmp_path: Path) -> None:
    content = b'{"text": "fine"}\n{"text": "caf\xe9"}\n{"text": "also fine"}\n'
    result = load_file(write(tmp_path / "a.jsonl", content))
    assert [a.text for a in result.articles] == ["fine", "also fine"]
    assert [(i.line, "not UTF-8" in i.reason) for i in result.issues] == [(2, True)]


def test_jsonl_without_id_uses_text_id_and_derives_long_title(tmp_path: Path) -> None:
    text = "A very long first line " * 10
    article = only_article(
        load_file(write(tmp_path / "a.jsonl", json.dumps({"text": text})))
    )
    assert article.id == text_id(article.text)
    assert len(article.title) <= 81 and article.title.endswith("…")


def test_jsonl_wrong_optional_field_types(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "x", "id": 1.5}),
        json.dumps({"text": "y", "id": True}),
        json.dumps({"text": "z", "url": 3}),
        json.dumps({"text": "w", "published": {"y": 2022}}),
        json.dumps({"text": "\ud800 lone surrogate"}),
    ]
    result = load_file(write(tmp_path / "a.jsonl", "\n".join(lines)))
    assert result.articles == []
    reasons = [i.reason for i in result.issues]
    assert reasons[0] == 'field "id" must be a string or an integer, got a number'
    assert reasons[1] == 'field "id" must be a string or an integer, got a boolean'
    assert reasons[2] == 'field "url" must be a string, got a number'
    assert reasons[3] == 'field "published" must be a string, got an object'
    assert "lone surrogate" in reasons[4]
    assert [i.line for i in result.issues] == [1, 2, 3, 4, 5]


def test_json_list_single_object_and_bad_shapes(tmp_path: Path) -> None:
    items = [
        {"id": "x", "text": "One."},
        {"title": "no text"},
        "str",
        {"id": "x", "text": "Two."},
    ]
    result = load_file(write(tmp_path / "list.json", json.dumps(items, indent=2)))
    assert [a.text for a in result.articles] == ["One."]
    assert [(i.line, i.reason.split(":")[0]) for i in result.issues] == [
        (None, "item 2"),
        (None, "item 3"),
        (None, "item 4"),
    ]
    assert "duplicate id" in result.issues[2].reason

    article = only_article(
        load_file(write(tmp_path / "one.json", '{"text": "Solo.", "id": 3}'))
    )
    assert (article.id, article.text, article.title) == ("3", "Solo.", "Solo.")

    assert (
        "got a number" in only_issue(load_file(write(tmp_path / "n.json", "5"))).reason
    )
    assert (
        "empty list" in only_issue(load_file(write(tmp_path / "e.json", "[]"))).reason
    )


def test_malformed_json_reports_line(tmp_path: Path) -> None:
    issue = only_issue(
        load_file(write(tmp_path / "bad.json", '[\n  {"text": "a"},\n  {"text": }\n]'))
    )
    assert issue.line == 3
    assert "malformed JSON" in issue.reason


# --- .md --------------------------------------------------------------------------


def test_markdown_front_matter_with_date(tmp_path: Path) -> None:
    article = only_article(
        load_file(write(tmp_path / "a.md", MARKDOWN_WITH_FRONT_MATTER))
    )
    assert article.title == "Budget passes after long debate"
    assert article.source == "Reuters"
    assert article.url == "https://example.com/budget"
    assert article.published == "2022-01-06"  # YAML parsed a date; stored as a string
    assert "title:" not in article.text and "---" not in article.text
    assert article.text.endswith("The vote was 51 to 49.")


def test_markdown_heading_becomes_title(tmp_path: Path) -> None:
    text = "Intro line.\n\n```sh\n# not a heading\n```\n\n# Real Heading #\n\nBody."
    article = only_article(load_file(write(tmp_path / "a.markdown", text)))
    assert article.title == "Real Heading"
    assert article.text == "Intro line.\n\n```sh\n# not a heading\n```\n\n\nBody."


def test_markdown_without_heading_uses_first_line(tmp_path: Path) -> None:
    article = only_article(
        load_file(write(tmp_path / "a.md", "Plain Title\n===\n\nBody here."))
    )
    assert (article.title, article.text) == ("Plain Title", "Body here.")


@pytest.mark.parametrize(
    ("content", "reason", "line"),
    [
        ("---\ntitle: [unclosed\n---\nBody", "malformed YAML front matter", 2),
        (
            "---\ntitle: ok\nurl: x\n  bad: y\n---\nBody",
            "mapping values are not allowed",
            4,
        ),
        ("---\ntitle: ok\nbody never closes", "no closing '---'", 1),
        ("---\n- a\n- b\n---\nBody", "front matter must be 'key: value' lines", 2),
        (
            "---\ntitle: [a, b]\n---\nBody",
            'field "title" must be a string, got a list',
            None,
        ),
        ("---\npublished: 2021-13-45\n---\nBody", "malformed YAML front matter", 1),
        ("---\ntitle: Only front matter\n---\n\n", "no article text", 4),
    ],
)
def test_markdown_bad_front_matter(
    tmp_path: Path, content: str, reason: str, line: int | None
) -> None:
    issue = only_issue(load_file(write(tmp_path / "a.md", content)))
    assert reason in issue.reason
    assert issue.line == line


# --- .html ------------------------------------------------------------------------


def test_html_extracts_article_without_script_or_nav(tmp_path: Path) -> None:
    article = only_article(load_file(write(tmp_path / "page.html", HTML_PAGE)))
    assert "Heavy rain caused the river to burst its banks" in article.text
    assert "stay away from the river." in article.text
    assert "mayor declared a state of emergency" in article.text
    for junk in ("alert", "<script", "<p>", "Home", "Sport", "Copyright"):
        assert junk not in article.text
    assert article.title == "Floods hit the valley"
    assert article.source == "Daily News"
    assert article.published == "2022-01-06"
    assert article.url == "https://example.com/floods"
    # Paragraphs are separated by a blank line, like the other formats.
    assert "homes in the valley.\n\nEmergency crews" in article.text


def test_html_fragment_and_empty_page(tmp_path: Path) -> None:
    fragment = "<p>Only a fragment of a page, saved alone.</p>"
    article = only_article(load_file(write(tmp_path / "frag.htm", fragment)))
    assert article.text == "Only a fragment of a page, saved alone."
    page = "<html><body><script>alert(1)</script><nav></nav></body></html>"
    assert (
        only_issue(load_file(write(tmp_path / "empty.html", page))).reason
        == "no article text found"
    )


# --- folders ----------------------------------------------------------------------


def test_folder_mixing_formats(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write(root / "b.txt", "Text Title\n\nA text article.\n")
    write(root / "a.md", MARKDOWN_WITH_FRONT_MATTER)
    write(root / "sub" / "page.HTML", HTML_PAGE)
    write(
        root / "sub" / "deeper" / "items.jsonl",
        '{"id": "j1", "text": "From JSONL."}\n{bad\n',
    )
    write(root / "c.json", '[{"id": "j2", "text": "From JSON."}]')
    write(root / "report.pdf", b"%PDF-1.4 not loaded")  # unsupported: skipped silently
    write(root / "notes", "no suffix: skipped silently")
    write(root / ".hidden.txt", "Hidden\n\nskipped")
    write(root / ".git" / "x.txt", "Hidden folder\n\nskipped")
    write(root / "empty.txt", "")
    write(root / "dup.txt", "Another Title\n\nA text article.\n")  # same text as b.txt

    result = load_path(root)

    assert [Path(a.path).name for a in result.articles] == [
        "a.md",
        "b.txt",
        "c.json",
        "items.jsonl",
        "page.HTML",
    ]
    assert {a.title for a in result.articles} >= {"Text Title", "Floods hit the valley"}
    issues = sorted(
        (Path(i.path).name, i.line, i.reason.split(" (")[0]) for i in result.issues
    )
    assert issues == [
        ("dup.txt", None, 'duplicate id "' + text_id("A text article.") + '"'),
        ("empty.txt", None, "empty file"),
        ("items.jsonl", 2, "malformed JSON"),
    ]
    # Same text, same id: the file loaded second (sorted order) is the one skipped,
    # and the issue names where the kept copy came from.
    dup = next(i for i in result.issues if "duplicate" in i.reason)
    assert str(root / "b.txt") in dup.reason


def test_folder_order_is_deterministic(tmp_path: Path) -> None:
    for name in ("z.txt", "a.txt", "m/k.txt", "B.txt"):
        write(tmp_path / name, f"{name}\n\nBody of {name}.")
    first = [a.path for a in load_path(tmp_path).articles]
    assert first == [a.path for a in load_path(tmp_path).articles]
    assert [Path(p).relative_to(tmp_path).as_posix() for p in first] == [
        "B.txt",
        "a.txt",
        "m/k.txt",
        "z.txt",
    ]


def test_empty_folder_is_an_issue(tmp_path: Path) -> None:
    write(tmp_path / "slides.pdf", b"%PDF")
    assert "no supported files" in only_issue(load_path(tmp_path)).reason


def test_walk_and_corpus_files_see_what_loading_sees(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write(root / "b.txt", "B\n\nThe b body.")
    write(root / "a" / "x.md", "X\n\nThe x body.")
    write(root / ".hidden.txt", "H\n\nskipped")
    write(root / "notes.pdf", b"%PDF")
    assert loaders.corpus_files(root) == [root / "a" / "x.md", root / "b.txt"]
    assert loaders.walk(root / "b.txt") == [root / "b.txt"]  # a file is its own corpus
    assert [Path(a.path) for a in load_path(root).articles] == loaders.corpus_files(root)


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {
        ".txt",
        ".md",
        ".markdown",
        ".html",
        ".htm",
        ".jsonl",
        ".json",
    }
    assert loaders.__all__ == [
        "SUPPORTED_SUFFIXES",
        "clean_text",
        "load_file",
        "load_path",
        "walk",
        "corpus_files",
    ]


# -- JSON Lines records the caller already holds ----------------------------------------------


def test_jsonl_lines_the_caller_holds_are_not_parsed_again(tmp_path):
    from rag.loaders.jsonl import record_key

    held = '{"id": "b", "text": "this line would not even parse'  # proves it is never parsed
    lines = [json.dumps({"id": "a", "text": "Alpha text here."}), held, json.dumps({"id": "c", "text": "Gamma."})]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_file(path, {record_key(held.encode()): "b"})
    assert [a.id for a in result.articles] == ["a", "c"]
    assert result.unchanged == ["b"] and result.issues == []
    assert list(result.records) == ["a", "b", "c"], "records come in file order"
    assert result.records["b"] == record_key(held.encode())
    # Without the caller's records every line is parsed, and the broken one is an issue.
    plain = load_file(path)
    assert [a.id for a in plain.articles] == ["a", "c"] and len(plain.issues) == 1
    assert set(plain.records) == {"a", "c"} and plain.unchanged == []


def test_a_held_jsonl_line_still_counts_for_duplicate_ids(tmp_path):
    from rag.loaders.jsonl import record_key

    first = json.dumps({"id": "a", "text": "The first version."})
    lines = [first, json.dumps({"id": "a", "text": "A second record with the same id."})]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_file(path, {record_key(first.encode()): "a"})
    assert result.unchanged == ["a"] and result.articles == []
    assert len(result.issues) == 1 and 'duplicate id "a"' in result.issues[0].reason

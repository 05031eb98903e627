"""Tests for publication dates: ``rag.dates.parse_published`` and every loader's use of it.

Each format (.jsonl, .json, .md front matter, .html, .txt) must fill
``Article.published`` in the one normalised form, and a bad date must cost only
the date: the article is still loaded, with one warning issue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import dates
from rag.dates import check_published, day_number, parse_published
from rag.loaders import load_file
from rag.types import Article, LoadResult

NORMALISED = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")
BAD = 'published "next Tuesdayish" is not a date; indexed without one'


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def one(result: LoadResult) -> Article:
    """The only article, with no issues at all."""
    assert result.issues == [], [str(i) for i in result.issues]
    assert len(result.articles) == 1
    return result.articles[0]


def kept_with_warning(result: LoadResult, reason: str) -> Article:
    """The only article, undated, and exactly one issue with ``reason``."""
    assert len(result.articles) == 1, [str(i) for i in result.issues]
    assert [i.reason for i in result.issues] == [reason]
    assert result.articles[0].published is None
    return result.articles[0]


# --- parse_published --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-03", "2026-03-03"),
        ("  2026-03-03 ", "2026-03-03"),
        ("20260303", "2026-03-03"),
        ("2026-03-03T14:05:00Z", "2026-03-03T14:05:00Z"),
        ("2026-03-03T14:05:00.123Z", "2026-03-03T14:05:00Z"),
        ("2026-03-03 14:05", "2026-03-03T14:05:00Z"),  # naive: taken as UTC
        ("2026-03-03T14:05:00+02:00", "2026-03-03T12:05:00Z"),
        ("2026-03-03T22:30:00-05:00", "2026-03-04T03:30:00Z"),  # UTC is the next day
        ("March 3, 2026", "2026-03-03"),
        ("3 March 2026", "2026-03-03"),
        ("3 Mar 2026 14:05 GMT", "2026-03-03T14:05:00Z"),
        ("Tue, 03 Mar 2026 14:05:00 +0200", "2026-03-03T12:05:00Z"),
        ("March 3, 2026 00:00", "2026-03-03T00:00:00Z"),  # a written midnight is a time
        (dt.date(2026, 3, 3), "2026-03-03"),
        (dt.datetime(2026, 3, 3, 14, 5), "2026-03-03T14:05:00Z"),
        (dt.datetime(2026, 3, 3, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=-1))), "2026-03-03T15:05:00Z"),
        ("1800-01-01", "1800-01-01"),
    ],
)
def test_lenient_forms_are_normalised(value: object, expected: str) -> None:
    assert parse_published(value) == expected
    assert check_published(value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("next Tuesdayish", "is not a date"),
        ("March 2026", "is not a date"),  # no day: not turned into the 1st or today
        ("March 3", "is not a date"),  # no year: not turned into this year
        ("2026", "is not a date"),
        ("yesterday", "is not a date"),  # relative to load time, not publication
        ("3 days ago", "is not a date"),
        ("2026-13-45", "is not a date"),
        ("x" * 500, "is not a date"),
        ("1750-06-01", "is before 1800"),
        ("0202-01-06T10:00:00Z", "is before 1800"),
        (dt.date(1799, 12, 31), "is before 1800"),
    ],
)
def test_bad_dates_are_none_with_a_reason(value: object, problem: str) -> None:
    assert parse_published(value) is None
    assert check_published(value) == (None, problem)


@pytest.mark.parametrize("value", [None, "", "   \n\t"])
def test_missing_dates_are_no_problem(value: str | None) -> None:
    assert check_published(value) == (None, None)


def test_iso_dates_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    real = dates._parser
    calls: list[int] = []

    def counting_parser():
        calls.append(1)
        return real()

    monkeypatch.setattr(dates, "_parser", counting_parser)
    for value in ("2026-03-03", "2026-03-03T14:05:00Z", "2026-03-03T14:05:00+02:00", "2026-03-03 14:05"):
        assert parse_published(value) is not None
    assert calls == []  # dateparser never consulted for ISO input
    assert parse_published("March 3, 2026") == "2026-03-03"
    assert calls == [1]


def test_naive_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_published(dt.datetime(2026, 3, 3, 14, 5)) == "2026-03-03T14:05:00Z"
        assert parse_published("2026-03-03 14:05") == "2026-03-03T14:05:00Z"
        assert parse_published("3 Mar 2026 14:05") == "2026-03-03T14:05:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_normalised_dates_keep_day_number_working() -> None:
    day = dt.date(2026, 3, 3).toordinal()
    assert day_number(parse_published("3 Mar 2026 14:05 GMT")) == day
    assert day_number(parse_published("March 3, 2026")) == day
    assert day_number(parse_published("next Tuesdayish")) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_published_never_raises_and_is_normalised(text: str) -> None:
    found = parse_published(text)
    assert found is None or (NORMALISED.match(found) and int(found[:4]) >= 1800)


# --- .jsonl / .json ---------------------------------------------------------------


def test_jsonl_dates_in_every_form(tmp_path: Path) -> None:
    values = ["2026-03-03", "2026-03-03T14:05:00Z", "March 3, 2026", "3 Mar 2026 14:05 GMT", None]
    lines = [json.dumps({"id": str(i), "text": f"Article {i}.", "published": v}) for i, v in enumerate(values)]
    result = load_file(write(tmp_path / "a.jsonl", "\n".join(lines)))
    assert result.issues == []
    assert [a.published for a in result.articles] == [
        "2026-03-03",
        "2026-03-03T14:05:00Z",
        "2026-03-03",
        "2026-03-03T14:05:00Z",
        None,
    ]


def test_jsonl_bad_date_keeps_the_record_with_a_line_numbered_warning(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "Good.", "published": "2026-03-03"}),
        json.dumps({"id": "b", "text": "Bad date.", "published": "next Tuesdayish"}),
        json.dumps({"id": "c", "text": "Number.", "published": 2026}),
    ]
    result = load_file(write(tmp_path / "a.jsonl", "\n".join(lines)))
    assert [(a.id, a.published) for a in result.articles] == [("a", "2026-03-03"), ("b", None), ("c", None)]
    assert [(i.line, i.reason) for i in result.issues] == [
        (2, BAD),
        (3, 'published "2026" is not a date; indexed without one'),
    ]


def test_jsonl_skipped_duplicate_gets_no_date_warning(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "First."}),
        json.dumps({"id": "a", "text": "Second.", "published": "next Tuesdayish"}),
    ]
    result = load_file(write(tmp_path / "a.jsonl", "\n".join(lines)))
    assert len(result.articles) == 1
    assert len(result.issues) == 1 and "duplicate id" in result.issues[0].reason


def test_json_list_and_object_dates(tmp_path: Path) -> None:
    items = [
        {"id": "a", "text": "One.", "published": "3 Mar 2026 14:05 GMT"},
        {"id": "b", "text": "Two.", "published": "next Tuesdayish"},
    ]
    result = load_file(write(tmp_path / "list.json", json.dumps(items)))
    assert [a.published for a in result.articles] == ["2026-03-03T14:05:00Z", None]
    assert [(i.line, i.reason) for i in result.issues] == [(None, f"item 2: {BAD}")]

    solo = {"text": "Solo.", "published": "March 3, 2026"}
    assert one(load_file(write(tmp_path / "one.json", json.dumps(solo)))).published == "2026-03-03"
    bad = {"text": "Solo.", "published": "next Tuesdayish"}
    kept_with_warning(load_file(write(tmp_path / "bad.json", json.dumps(bad))), BAD)


# --- .md front matter -------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("published: 2026-03-03", "2026-03-03"),  # a YAML date
        ("published: 2026-03-03 14:05:00", "2026-03-03T14:05:00Z"),  # a naive YAML datetime
        ("published: 2026-03-03T14:05:00+02:00", "2026-03-03T12:05:00Z"),  # with an offset
        ('published: "March 3, 2026"', "2026-03-03"),
        ("published: 3 Mar 2026 14:05 GMT", "2026-03-03T14:05:00Z"),
    ],
)
def test_markdown_front_matter_dates(tmp_path: Path, front: str, expected: str) -> None:
    content = f"---\ntitle: Floods\n{front}\n---\nThe river rose.\n"
    article = one(load_file(write(tmp_path / "a.md", content)))
    assert (article.title, article.published, article.text) == ("Floods", expected, "The river rose.")


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("published: next Tuesdayish", BAD),
        ("published: 2026", 'published "2026" is not a date; indexed without one'),
        ("published: 1750-01-01", 'published "1750-01-01" is before 1800; indexed without one'),
    ],
)
def test_markdown_bad_date_keeps_the_article(tmp_path: Path, front: str, reason: str) -> None:
    content = f"---\ntitle: Floods\n{front}\n---\nThe river rose.\n"
    article = kept_with_warning(load_file(write(tmp_path / "a.md", content)), reason)
    assert article.text == "The river rose."


# --- .html ------------------------------------------------------------------------

PARAGRAPHS = """<p>Heavy rain caused the river to burst its banks on Thursday, flooding hundreds
of homes in the valley, and crews worked through the night.</p>
<p>Emergency crews evacuated residents overnight and the mayor declared a state of
emergency for the whole region as the water kept rising.</p>"""


def page(head: str = "", body_extra: str = "", footer: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><title>Floods hit the valley</title>{head}</head>"
        f"<body><article><h1>Floods hit the valley</h1>{body_extra}{PARAGRAPHS}</article>"
        f"<footer>{footer}</footer></body></html>"
    )


def test_html_meta_published_time_wins_over_modified(tmp_path: Path) -> None:
    head = (
        '<meta property="article:modified_time" content="2026-04-20T08:00:00Z">'
        '<meta property="article:published_time" content="2026-03-03T14:05:00Z">'
    )
    article = one(load_file(write(tmp_path / "a.html", page(head=head))))
    assert article.published == "2026-03-03"  # the original date, kept as a day


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        ("<p>Published on 3 March 2026 by Jo Smith</p>", "2026-03-03"),
        ("<p>By Jo Smith, March 5, 2026</p>", "2026-03-05"),
        ("<p>Published on 1 March 2026</p>", "2026-03-01"),  # a real 1st of the month
    ],
)
def test_html_visible_date_only(tmp_path: Path, visible: str, expected: str) -> None:
    article = one(load_file(write(tmp_path / "a.htm", page(body_extra=visible))))
    assert article.published == expected
    assert "Heavy rain caused the river" in article.text


def test_html_date_from_htmldate_and_from_trafilatura(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import htmldate
    import trafilatura.metadata

    path = write(tmp_path / "a.html", page(body_extra="<p>Published on 3 March 2026</p>"))
    # trafilatura finds nothing: the loader's own htmldate call still dates the page.
    with monkeypatch.context() as m:
        m.setattr(trafilatura.metadata, "find_date", lambda *a, **k: None)
        assert one(load_file(path)).published == "2026-03-03"
    # htmldate (as the loader calls it) finds nothing: trafilatura's date is the fallback.
    with monkeypatch.context() as m:
        m.setattr(htmldate, "find_date", lambda *a, **k: None)
        assert one(load_file(path)).published == "2026-03-03"
        m.setattr(trafilatura.metadata, "find_date", lambda *a, **k: None)
        assert one(load_file(path)).published is None


def test_html_copyright_year_is_not_a_publication_day(tmp_path: Path) -> None:
    # htmldate would report "© 2021" as 2021-01-01; that guess must not date the article.
    article = one(load_file(write(tmp_path / "a.html", page(footer="© 2021 Daily News"))))
    assert article.published is None


def test_html_undated_page_has_no_date_and_no_issue(tmp_path: Path) -> None:
    assert one(load_file(write(tmp_path / "a.html", page()))).published is None


# --- .txt -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "published", "source"),
    [
        ("Date: 2026-03-03", "2026-03-03", None),
        ("Published: March 3, 2026", "2026-03-03", None),
        ("date: 3 Mar 2026 14:05 GMT", "2026-03-03T14:05:00Z", None),
        ("Source: Daily Courier\nPUBLISHED: 3 March 2026", "2026-03-03", "Daily Courier"),
        ("Date: 2026-03-03T14:05:00Z\nSource:  Daily Courier ", "2026-03-03T14:05:00Z", "Daily Courier"),
        ("\nSource: Daily Courier\nDate: March 3, 2026\n", "2026-03-03", "Daily Courier"),
        ("Source: Daily Courier", None, "Daily Courier"),
    ],
)
def test_txt_metadata_lines_under_the_title(
    tmp_path: Path, meta: str, published: str | None, source: str | None
) -> None:
    content = f"Floods hit the valley\n{meta}\n\nThe river rose.\n\nCrews worked all night.\n"
    article = one(load_file(write(tmp_path / "a.txt", content)))
    assert article.title == "Floods hit the valley"
    assert (article.published, article.source) == (published, source)
    assert article.text == "The river rose.\n\nCrews worked all night."


def test_txt_metadata_only_counts_right_under_the_title(tmp_path: Path) -> None:
    content = "Floods hit the valley\nThe river rose.\nDate: 2026-03-03\nSource: Daily Courier\n"
    article = one(load_file(write(tmp_path / "a.txt", content)))
    assert (article.published, article.source) == (None, None)
    assert article.text == "The river rose.\nDate: 2026-03-03\nSource: Daily Courier"


def test_txt_repeated_date_line_ends_the_block(tmp_path: Path) -> None:
    content = "Floods\nDate: 2026-03-03\nPublished: 2026-03-04\nBody.\n"
    article = one(load_file(write(tmp_path / "a.txt", content)))
    assert article.published == "2026-03-03"
    assert article.text == "Published: 2026-03-04\nBody."


def test_txt_bad_date_keeps_the_article_and_names_the_line(tmp_path: Path) -> None:
    content = "Floods hit the valley\nSource: Daily Courier\nDate: next Tuesdayish\n\nThe river rose.\n"
    result = load_file(write(tmp_path / "a.txt", content))
    article = kept_with_warning(result, BAD)
    assert result.issues[0].line == 3
    assert (article.source, article.text) == ("Daily Courier", "The river rose.")


def test_txt_with_only_metadata_has_no_text(tmp_path: Path) -> None:
    result = load_file(write(tmp_path / "a.txt", "Floods\nDate: 2026-03-03\nSource: Daily Courier\n"))
    assert result.articles == []
    assert [i.reason for i in result.issues] == ["only a title line, no article text"]

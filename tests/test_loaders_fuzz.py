"""Property tests: no input file makes the loaders raise, and what they return is sane."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.loaders import clean_text, load_path
from rag.types import LoadResult

# Loaders do no model work, so many examples stay fast; no deadline because the
# first call of a run pays for imports (PyYAML).
FUZZ = settings(max_examples=150, deadline=None)

SUFFIXES = st.sampled_from([".txt", ".jsonl", ".md", ".json"])

# Values of every JSON type, to hit the field type checks.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = st.sampled_from(["id", "title", "url", "source", "published", "text"])
RECORDS = st.dictionaries(FIELDS, JSON_VALUES | st.text(max_size=80), max_size=6)


def load_bytes(suffix: str, data: bytes) -> LoadResult:
    # A fresh folder per example: hypothesis reruns the body many times, which the
    # function-scoped tmp_path fixture does not support.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        file_result = load_path(path)
        folder_result = load_path(folder)
    # Loading the folder must give the same as loading its only file.
    assert folder_result == file_result
    return file_result


def check(result: LoadResult) -> None:
    for article in result.articles:
        assert isinstance(article.title, str)
        assert isinstance(article.id, str) and article.id
        assert article.text.strip()
        # The stored text is already clean, so offsets into it are stable.
        assert clean_text(article.text) == article.text
    for issue in result.issues:
        assert issue.reason
        # The safety net in load_file must never be what handled the input.
        assert not issue.reason.startswith("internal error"), issue.reason
    ids = [a.id for a in result.articles]
    assert len(ids) == len(set(ids))


@FUZZ
@given(SUFFIXES, st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(suffix: str, data: bytes) -> None:
    check(load_bytes(suffix, data))


@FUZZ
@given(SUFFIXES, st.text(max_size=500))
def test_arbitrary_text_never_raises(suffix: str, text: str) -> None:
    # Valid UTF-8 gets past decoding, so this reaches the format parsers.
    check(load_bytes(suffix, text.encode("utf-8", "surrogatepass")))


@FUZZ
@given(st.lists(RECORDS | JSON_VALUES, max_size=6), st.booleans())
def test_json_records_never_raise(records: list[object], as_jsonl: bool) -> None:
    if as_jsonl:
        data = "\n".join(json.dumps(r) for r in records)
        check(load_bytes(".jsonl", data.encode("utf-8")))
    else:
        check(load_bytes(".json", json.dumps(records).encode("utf-8")))


@FUZZ
@given(st.text(max_size=200), st.text(max_size=200))
def test_markdown_front_matter_never_raises(front: str, body: str) -> None:
    data = f"---\n{front}\n---\n{body}".encode("utf-8", "surrogatepass")
    check(load_bytes(".md", data))


@FUZZ
@given(st.text(max_size=300))
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert once == once.rstrip()
    assert "\r" not in once

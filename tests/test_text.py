"""rag.text: sentence spans, answer normalisation and number extraction."""

from __future__ import annotations

import pytest
from conftest import SEED_ARTICLE

from rag.text import acronyms, normalize_answer, numbers_in, split_sentences


def _texts(text: str, offset: int = 0) -> list[str]:
    sentences = split_sentences(text, offset)
    for s in sentences:
        assert text[s.start - offset : s.end - offset] == s.text, s
    return [s.text for s in sentences]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "A spokesperson compared it to the U.S. Capitol riot. Officials disagreed.",
            ["A spokesperson compared it to the U.S. Capitol riot.", "Officials disagreed."],
        ),
        (
            "The U.S. Army arrived. It left at 3 p.m. local time. Then it rained.",
            ["The U.S. Army arrived.", "It left at 3 p.m. local time.", "Then it rained."],
        ),
        (
            "Mr. Smith met Dr. Jones in Washington. J. R. Tolkien wrote books.",
            ["Mr. Smith met Dr. Jones in Washington.", "J. R. Tolkien wrote books."],
        ),
        (
            "He said, “We will stay.” Then he left! Did he? Yes.",
            ["He said, “We will stay.”", "Then he left!", "Did he?", "Yes."],
        ),
        (
            "‘Quoted,’ she said. “Next.” Done.",
            ["‘Quoted,’ she said.", "“Next.”", "Done."],
        ),
        ("Prices rose 2.5 percent. Next sentence.", ["Prices rose 2.5 percent.", "Next sentence."]),
        (
            "First paragraph has no period\nSecond paragraph starts. And ends.",
            ["First paragraph has no period", "Second paragraph starts.", "And ends."],
        ),
        ("   Leading and trailing spaces.   Second one.  ", ["Leading and trailing spaces.", "Second one."]),
    ],
)
def test_split_sentences_exact_spans(text, expected):
    assert _texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "At least 2,000 people were arrested. [1] Police said dozens died. [2]",
            ["At least 2,000 people were arrested. [1]", "Police said dozens died. [2]"],
        ),
        (
            "At least 2,000 people were arrested. [1][2] Police said so.",
            ["At least 2,000 people were arrested. [1][2]", "Police said so."],
        ),
        (
            "At least 2,000 people have reportedly been arrested. [1]",
            ["At least 2,000 people have reportedly been arrested. [1]"],
        ),
        ("One. [1]\nTwo. [2]", ["One. [1]", "Two. [2]"]),
    ],
)
def test_citation_markers_stay_with_their_sentence(text, expected):
    # The answer checker splits answers with this function: a marker that became its own
    # "sentence" would leave the sentence before it uncited.
    assert _texts(text) == expected


def test_offset_shifts_spans():
    text = "Abc def. Ghi jkl."
    sentences = split_sentences(text, offset=100)
    assert [(s.start, s.end) for s in sentences] == [(100, 108), (109, 117)]
    assert _texts(text, offset=100) == ["Abc def.", "Ghi jkl."]


def test_empty_and_blank_text():
    assert split_sentences("") == []
    assert split_sentences("  \n\n  ") == []


def test_seed_article_spans_are_exact_and_cover_key_sentences():
    from rag.loaders import load_file

    article = load_file(SEED_ARTICLE).articles[0]
    sentences = split_sentences(article.text)
    assert len(sentences) > 20
    for s in sentences:
        assert article.text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
    texts = [s.text for s in sentences]
    assert "At least 2,000 people have reportedly been arrested." in texts
    # "U.S." inside a sentence must not end it.
    assert any(t.startswith("A foreign ministry spokesperson") and t.endswith("U.S. Capitol riot.") for t in texts)
    # Spans are in order and never overlap.
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:]))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2,000", "2000"),
        ("At least 2,000 people", "at least 2000 people"),
        ("1,234,567", "1234567"),
        ("The Answer!", "answer"),
        ("an apple", "apple"),
        ("A  cat  and the dog.", "cat and dog"),
        ("Tokayev’s", "Tokayev's"),
        ("Café", "cafe"),
        ("“Terrorist gangs”", "terrorist gangs"),
        ("Old man, go away!", "old man go away"),
    ],
)
def test_normalize_answer_equivalences(a, b):
    assert normalize_answer(a) == normalize_answer(b)


def test_normalize_answer_output():
    assert normalize_answer("The  U.S. Capitol,  2,000 PEOPLE!") == "u s capitol 2000 people"
    # Articles are dropped only as whole words.
    assert normalize_answer("Theater and anthem") == "theater and anthem"
    assert normalize_answer("") == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [("2,000", "20,00"), ("2000", "200"), ("terrorist gangs", "terrorist")],
)
def test_normalize_answer_keeps_differences(a, b):
    assert normalize_answer(a) != normalize_answer(b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("At least 2,000 people", {"2000"}),
        ("1,234,567 and 3.5.", {"1234567", "3.5"}),
        ("two of whom", {"two"}),
        ("ruled for three decades until 2019", {"three", "decades", "2019"}),
        ("Dozens of demonstrators", {"dozens"}),
        ("no numbers here", set()),
        ("", set()),
    ],
)
def test_numbers_in(text, expected):
    assert numbers_in(text) == expected


def test_numbers_in_normalises_both_spellings_alike():
    assert numbers_in("2,000 arrested") == numbers_in("2000 arrested")
    assert numbers_in("About 500 people") != numbers_in("At least 2,000 people")


def test_acronyms_come_from_runs_of_capitalised_words():
    found = acronyms("On Thursday, troops of the Russia-led Collective Security Treaty Organization arrived.")
    assert "csto" in found and "ot" not in found  # "On" is a function word; a comma ends a run
    assert {"doj", "dj"} <= acronyms("The Department of Justice said so.")  # "of" taken or skipped
    # Two function words in a row end a run: no "djnato" from "Justice and the North".
    assert not any(a.startswith("djn") for a in acronyms("The Department of Justice and the North Atlantic Treaty Organization"))
    assert acronyms("NASA said so.") == set() and acronyms("troops arrived on monday") == set()

"""A model names the answer's words; only words found in a shown sentence reach the answer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import ARRESTED, FakeLLM

from rag.answer.extract import (
    EXTRACTOR_FEATURES,
    extract,
    extraction_messages,
    extractor_row,
    found,
    locate,
    read_by_model,
    same_answer,
)
from rag.answer.fit_extractor import _policy_thresholds
from rag.answer.question import Question
from rag.answer.reader import Reading, ShortAnswer
from rag.text import Sentence
from rag.types import Article, Chunk, Passage

HAMLIN = "Hamlin, a safety for the Buffalo Bills, collapsed on the field in Cincinnati on Monday night."
STEELERS = "The Pittsburgh Steelers beat the Baltimore Ravens 16-13 on Sunday."
SETTLEMENT = "Fox News agreed to pay $787.5 million to settle the defamation lawsuit."


def _candidate(doc: str, text: str, rank: int):
    from rag.answer.candidates import SentenceCandidate

    chunk = Chunk(f"{doc}:0", doc, text, 0, len(text))
    return SentenceCandidate(doc, Sentence(text, 0, len(text)), Passage(chunk, 1.0 - rank / 10), rank, 0)


def _reading(texts, alternatives=(), confidence=0.4) -> tuple[Reading, dict[str, Article]]:
    cands = [_candidate(f"d{i}", t, i) for i, t in enumerate(texts)]
    articles = {c.doc_id: Article(c.doc_id, f"Title {c.doc_id}", c.text, published="2023-01-05") for c in cands}
    alts = []
    for text, p in alternatives:
        c = next(c for c in cands if text in c.text)
        start = c.text.index(text)
        alts.append(ShortAnswer(text, p, c, start, start + len(text), "ORG"))
    reading = Reading(ranked=cands, probabilities=[0.6 - 0.1 * i for i in range(len(cands))], alternatives=alts,
                      confidence=confidence, answerable=False, reason="unsure")
    return reading, articles


QUESTION = Question("Which team does Damar Hamlin play for?", "thing", focus="team",
                    weights={"team": 1.0, "damar": 3.0, "hamlin": 3.0, "play": 1.0})


@pytest.mark.parametrize(
    ("answer", "text", "expected"),
    [
        ("Buffalo Bills", HAMLIN, "Buffalo Bills"),
        ("buffalo bills", HAMLIN, "Buffalo Bills"),  # case is not the model's to get right
        ("787.5 million", SETTLEMENT, "$787.5 million"),  # the currency sign comes along
        ("$787.5 million", SETTLEMENT, "$787.5 million"),
        ("Bills Buffalo", HAMLIN, None),  # words out of order are not a copy
        ("Buffalo Bill", HAMLIN, None),  # nor is part of a word
        ("Kansas City Chiefs", HAMLIN, None),
    ],
)
def test_locate_finds_the_words_as_the_article_printed_them(answer, text, expected):
    span = locate(answer, text)
    assert (text[span[0]:span[1]] if span else None) == expected


def test_the_short_answer_is_the_articles_characters_not_the_models():
    reading, _ = _reading([STEELERS, HAMLIN])
    ex = found("Answer: the buffalo bills.", reading)
    assert ex.short is not None
    assert ex.short.text == "Buffalo Bills" and ex.short.candidate.text == HAMLIN
    assert HAMLIN[ex.short.start:ex.short.end] == "Buffalo Bills"
    assert ex.rank == 1 and ex.found_in == 1


@pytest.mark.parametrize("reply", ["none", "None.", "Kansas City Chiefs", "", "   "])
def test_a_reply_not_found_in_the_evidence_is_no_answer(reply):
    reading, _ = _reading([STEELERS, HAMLIN])
    assert found(reply, reading).short is None


def test_the_model_is_shown_the_readers_best_sentences_and_the_question():
    reading, articles = _reading([STEELERS, HAMLIN])
    llm = FakeLLM("Buffalo Bills")
    ex = extract(llm, QUESTION.text, reading, articles)
    user = llm.last_messages[-1]["content"]
    assert "[1]" in user and STEELERS in user and "[2]" in user and HAMLIN in user
    assert user.rstrip().endswith(QUESTION.text)
    assert llm.kwargs[-1]["temperature"] == 0.0
    assert ex.short is not None and ex.short.text == "Buffalo Bills"
    assert extraction_messages(QUESTION.text, reading.ranked, articles) == llm.last_messages


def test_features_say_whether_the_model_agrees_with_the_reader():
    reading, _ = _reading([STEELERS, HAMLIN], alternatives=[("Buffalo Bills", 0.7), ("Pittsburgh Steelers", 0.2)])
    agree = extractor_row(QUESTION, reading, found("Buffalo Bills", reading))
    other = extractor_row(QUESTION, reading, found("Pittsburgh Steelers", reading))
    col = EXTRACTOR_FEATURES.index
    assert agree[col("agrees")] == 1.0 and agree[col("alternative_rank")] == 1.0
    assert agree[col("alternative_probability")] == pytest.approx(0.7)
    assert other[col("agrees")] == 0.0 and other[col("alternative_rank")] == 0.5
    assert other[col("sentence_rank")] == 1.0 and agree[col("sentence_rank")] == 0.5
    assert len(agree) == len(EXTRACTOR_FEATURES)


def test_an_answer_repeating_the_question_is_marked():
    reading, _ = _reading(["Damar Hamlin is recovering, his team said.", HAMLIN])
    row = extractor_row(QUESTION, reading, found("Damar Hamlin", reading))
    assert row[EXTRACTOR_FEATURES.index("in_question")] == 1.0


def test_same_answer_is_containment_of_normalised_words():
    assert same_answer("the Buffalo Bills", "Buffalo Bills")
    assert same_answer("Bills", "Buffalo Bills")
    assert not same_answer("Bill", "Buffalo Bills")
    assert not same_answer("", "Buffalo Bills")


def _entry(threshold: float, reader_threshold: float, agrees_weight: float = 4.0) -> dict:
    """A trust model that leans on agreement with the reader alone."""
    n = len(EXTRACTOR_FEATURES)
    coef = np.zeros(n)
    coef[EXTRACTOR_FEATURES.index("agrees")] = agrees_weight
    return {"confidence": {"features": list(EXTRACTOR_FEATURES), "mean": [0.0] * n, "scale": [1.0] * n,
                           "coef": coef.tolist(), "intercept": -2.0},
            "threshold": threshold, "reader_threshold": reader_threshold, "better_than_reader": True}


def test_a_trusted_answer_leads_and_its_sentence_is_cited_first():
    reading, articles = _reading([STEELERS, HAMLIN], alternatives=[("Buffalo Bills", 0.7)], confidence=0.3)
    out, used = read_by_model(FakeLLM("Buffalo Bills"), _entry(0.5, 0.9), QUESTION, QUESTION.text, reading, articles)
    assert used and out.answerable and out.reason == ""
    assert out.short.text == "Buffalo Bills" and out.ranked[0].text == HAMLIN
    assert out.confidence == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_an_untrusted_answer_leaves_the_reader_to_answer_at_its_own_threshold():
    reading, articles = _reading([STEELERS, HAMLIN], alternatives=[("Buffalo Bills", 0.7)], confidence=0.3)
    # The model disagrees with the reader, so the trust model gives it 0.12: below 0.5.
    out, used = read_by_model(FakeLLM("Pittsburgh Steelers"), _entry(0.5, 0.25), QUESTION, QUESTION.text, reading, articles)
    assert not used and out.answerable and out.ranked[0].text == STEELERS  # the reader's own order
    out, used = read_by_model(FakeLLM("Pittsburgh Steelers"), _entry(0.5, 0.35), QUESTION, QUESTION.text, reading, articles)
    assert not used and not out.answerable and "30% likely right" in out.reason


def test_a_model_answer_found_nowhere_is_never_shown():
    reading, articles = _reading([STEELERS, HAMLIN], alternatives=[("Buffalo Bills", 0.7)], confidence=0.3)
    out, used = read_by_model(FakeLLM("Kansas City Chiefs"), _entry(0.0, 1.1), QUESTION, QUESTION.text, reading, articles)
    assert not used and not out.answerable
    assert "Kansas" not in " ".join(c.text for c in out.ranked)


def test_policy_thresholds_worked_example():
    # Five questions. The model found an answer in three: trusted 0.9 (right), 0.6 (wrong), 0.4 (right).
    # The reader's confidence and rightness on each: it is right on the two the model missed.
    trust = np.array([0.9, 0.6, 0.4, 0.0, 0.0])
    located = np.array([True, True, True, False, False])
    model_gain = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    conf = np.array([0.2, 0.3, 0.5, 0.7, 0.8])
    reader_gain = np.array([-1.0, -1.0, -1.0, 1.0, 1.0])
    t_m, t_r = _policy_thresholds(trust, located, model_gain, conf, reader_gain)
    # The model where trusted at 0.9 (+1) and the reader at 0.7 and 0.8 (+2) make 3. Letting the
    # model answer down to 0.4 also makes 3 (+1 -1 +1, then +2), with a wrong answer more, so the
    # higher threshold wins the tie.
    assert t_m == pytest.approx(0.9) and t_r == pytest.approx(0.7)


def test_extraction_runs_only_where_a_model_entry_says_it_helps(seed_index, embedder, seed_reader):
    import rag

    weights = replace(seed_reader.weights, extractors={"fake-llm": _entry(0.0, 0.0)})
    from rag.answer.reader import Reader

    reader = Reader(embedder, weights)
    llm = FakeLLM("2,000")
    auto = rag.Assistant.load(seed_index, embedder=embedder, llm=llm, reader=reader, mode="auto", k=5)
    answer = auto.ask(ARRESTED)
    assert llm.calls and answer.short == "2,000" and not answer.abstained
    assert "2,000" in answer.citations[0].quote
    assert any("found the short answer" in n for n in answer.notes)
    calls = len(llm.calls)
    answer = auto.ask(ARRESTED, mode="extractive")
    assert len(llm.calls) == calls  # extractive answers never run a model
    plain = rag.Assistant.load(seed_index, embedder=embedder, llm=FakeLLM("2,000"), reader=seed_reader, mode="auto", k=5)
    plain.ask(ARRESTED)
    assert not plain.llm.calls  # no entry for this model: the reader answers factoid questions alone

"""The reader's decisions: answer typing, redundancy, dates, and where abstentions come from."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from conftest import FakeLLM

import rag
from rag.answer.candidates import SentenceCandidate, SpanCandidate
from rag.answer.features import SPAN_FEATURES, sentence_features, span_features, span_groups
from rag.answer.question import analyze
from rag.text import Sentence
from rag.types import Article, Chunk, Passage


def _cand(doc: str, text: str, rank: int = 0, also_in=()) -> SentenceCandidate:
    chunk = Chunk(f"{doc}-0000", doc, text, 0, len(text))
    return SentenceCandidate(doc, Sentence(text, 0, len(text)), Passage(chunk, 1.0), rank, 0, None, list(also_in))


# -- features, unit by unit ------------------------------------------------------------------


def test_support_counts_articles_and_a_reprinted_sentence_once():
    q = analyze("Which team does Damar Hamlin play for?")
    cands = [
        _cand("a", "Hamlin plays for the Buffalo Bills.", also_in=["b"]),  # one wire story printed twice
        _cand("c", "The Buffalo Bills said Hamlin was stable."),
        _cand("d", "Hamlin was taken to a Cincinnati hospital."),
    ]
    articles = {d: Article(d, f"Story {d}", "x") for d in "abcd"}
    spans = [SpanCandidate("Buffalo Bills", "ORG", 0, 20, 33), SpanCandidate("Buffalo Bills", "ORG", 1, 4, 17),
             SpanCandidate("Cincinnati", "GPE", 2, 20, 30)]
    logits = np.zeros(3)  # equally relevant sentences
    groups = span_groups(spans, logits)
    x = span_features(q, groups, cands, logits, lambda c, label: 0.0, lambda texts: np.zeros(len(texts)), articles)
    support = dict(zip((g.key for g in groups), x[:, SPAN_FEATURES.index("support")]))
    share = dict(zip((g.key for g in groups), x[:, SPAN_FEATURES.index("support_share")]))
    # Bills: articles a, b (the reprint) and c, each at relevance 0.5; Cincinnati: d alone.
    assert support["buffalo bills"] == pytest.approx(np.log1p(1.5))
    assert support["cincinnati"] == pytest.approx(np.log1p(0.5))
    assert share["buffalo bills"] == 1.0 and share["cincinnati"] < 1.0


def test_age_is_measured_against_the_pools_newest_report():
    q = analyze("How many people have died?")
    cands = [_cand("new", "Seventeen people have died."), _cand("old", "Three people have died.")]
    articles = {"new": Article("new", "Toll rises", "x", published="2026-03-05"),
                "old": Article("old", "Toll", "x", published="2026-03-02")}
    vectors = np.eye(2, 4, dtype=np.float32)
    as_of = date(2026, 3, 10).toordinal()
    x = sentence_features(q, np.ones(4, np.float32) / 2, cands, vectors, articles, as_of=as_of, title_vectors=vectors)
    from rag.answer.features import SENTENCE_FEATURES

    stale = x[:, SENTENCE_FEATURES.index("staleness")]
    assert stale[0] == 0.0 and stale[1] == pytest.approx(np.log1p(3))  # three days staler than the newest
    age = x[:, SENTENCE_FEATURES.index("age")]
    assert age[0] == pytest.approx(np.log1p(5)) and age[1] == pytest.approx(np.log1p(8))  # days before as_of


def test_a_sentence_that_spells_out_the_questions_acronym_covers_it():
    from rag.answer.confidence import missing_names
    from rag.answer.features import SENTENCE_FEATURES

    q = analyze("Who leads the CSTO?")
    assert q.entities == ("CSTO",)
    cands = [
        _cand("a", "Troops from Belarus and Armenia came under the Russia-led Collective Security Treaty Organization."),
        _cand("b", "Troops from Belarus and Armenia came to the city."),
    ]
    articles = {d: Article(d, "Troops arrive", "x") for d in "ab"}
    vectors = np.eye(2, 4, dtype=np.float32)
    x = sentence_features(q, np.ones(4, np.float32) / 2, cands, vectors, articles, as_of=None, title_vectors=vectors)
    coverage = x[:, SENTENCE_FEATURES.index("coverage")]
    assert coverage[0] > coverage[1]  # "csto" is found only where the name is spelt out
    assert missing_names(q, cands[:1], articles) == [] and missing_names(q, cands[1:], articles) == ["CSTO"]


def test_a_sentence_about_part_of_what_the_one_before_named_is_read_with_it():
    from rag.answer.candidates import SentenceCache, gather

    text = ("About 1,200 people have been evacuated, the agency said. Most of them spent Monday in the sports hall. "
            "One of the officers said the roads were closed. He said so.")
    articles = {"a": Article("a", "Evacuations", text)}
    cands = gather([Passage(Chunk("a-0000", "a", text, 0, len(text)), 1.0)], articles, SentenceCache())
    context = {c.text: c.context.text if c.context else None for c in cands}
    assert context["Most of them spent Monday in the sports hall."].startswith("About 1,200 people have been evacuated")
    assert context["One of the officers said the roads were closed."] is None  # names its own subject
    assert context["He said so."] == "One of the officers said the roads were closed."


# -- decisions over real articles --------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "label", "best"),
    [
        ("How many people were arrested?", "CARDINAL", "At least 2,000"),  # a number for "how many"
        ("Who is the president of Kazakhstan?", "PERSON", "Kassym-Jomart Tokayev"),  # a person for "who"
        ("Which news agency reported multiple deaths in the square?", "ORG", "TASS"),  # a thing of kind "agency"
    ],
)
def test_short_answers_have_the_asked_for_type(seed_assistant, question, label, best):
    from rag.answer import nlp
    from rag.answer.query import plan

    a = seed_assistant
    p = plan(a.index, a.embedder, question, None, k=5, as_of=None)
    reading = a.reader.read(p.question, p.vector, p.pool, a.index.articles, None)
    top = reading.alternatives[0]
    assert top.text == best
    assert top.text in top.candidate.text  # a span copied from its sentence
    assert any(e.text == best and e.label == label for e in nlp.entities([top.candidate.text])[0])


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("The “Cyber Partisans” vowed to unmask every soldier, Meduza reports.", "Cyber Partisans"),
        ("He called the plan a “historic step” for the town.", "historic step"),
    ],
)
def test_a_short_answer_keeps_both_quotation_marks_or_neither(sentence, span):
    from rag.answer.candidates import _unquoted, spans_of

    texts = [s.text for s in spans_of([_cand("a", sentence)])]
    assert span in texts
    assert not any(t.count("“") != t.count("”") for t in texts)
    title = "the “Powering up Britain” plan"
    assert title[slice(*_unquoted(title, 4, 25))] == "“Powering up Britain”"  # a title quoted whole keeps both


def test_a_confident_short_answer_leads_the_answer(seed_assistant):
    answer = seed_assistant.ask("How many people were arrested?")
    assert answer.short == "At least 2,000"
    assert answer.text.startswith("At least 2,000. At least 2,000 people have reportedly been arrested. [1]")
    assert answer.short in answer.citations[0].quote


def test_why_questions_get_sentences_not_a_short_answer(seed_assistant):
    answer = seed_assistant.ask("Why is it hard to know how bad the chaos in Almaty really is?")
    assert not answer.abstained and answer.short is None
    assert "internet was shut off" in answer.text


@pytest.mark.xfail(strict=True, reason="known miss (issue 12 open): with the label prior shrunk toward its class's rate "
                   "(2026-12-07), this reading is estimated 27% likely right, under the fitted threshold of 29%")
def test_context_words_no_article_repeats_do_not_cause_an_abstention(seed_assistant):
    # "former Soviet republic" and "crackdown" appear nowhere; the answer is still there.
    answer = seed_assistant.ask("In the crackdown in the former Soviet republic, how many people were arrested?")
    assert not answer.abstained, answer.text
    assert "2,000" in answer.text


def test_a_preamble_name_is_not_given_as_the_reason(seed_assistant):
    answer = seed_assistant.ask("In the crackdown in the former Soviet republic, how many people were arrested?")
    assert "Soviet" not in answer.text


def test_abstention_comes_with_a_reason_and_nothing_cited(seed_assistant):
    answer = seed_assistant.ask("What is the capital of France?")
    assert answer.abstained and not answer.citations and answer.short is None
    assert "France" in answer.text  # the named thing no article mentions
    assert answer.confidence is not None and answer.confidence < seed_assistant.reader.weights.answer_threshold
    assert answer.withheld  # the answer it held back, for the risk-coverage curve


def _dated_corpus(root):
    corpus = root / "corpus"
    corpus.mkdir()
    rows = [
        {"id": "mon", "title": "Flooding in Riverton", "published": "2026-03-02",
         "text": "Flooding in Riverton has killed three people, officials said on Monday."},
        {"id": "thu", "title": "Riverton flood toll rises", "published": "2026-03-05",
         "text": "The death toll from the Riverton flooding has risen to 17, officials said on Thursday."},
    ]
    (corpus / "news.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return corpus


def test_as_of_hides_later_articles(tmp_path, embedder, seed_reader):
    assistant = rag.Assistant.build(_dated_corpus(tmp_path), tmp_path / "index", embedder=embedder, llm=FakeLLM(),
                                    reader=seed_reader, mode="extractive")
    early = assistant.ask("How many people have died in the Riverton flooding?", as_of="2026-03-03")
    assert early.as_of == "2026-03-03"
    assert all(p.chunk.doc_id == "mon" for p in early.passages)  # Thursday's article did not exist yet
    assert "17" not in early.text
    late = assistant.ask("How many people have died in the Riverton flooding?", as_of="2026-03-06")
    assert {p.chunk.doc_id for p in late.passages} == {"mon", "thu"}  # both reports may now be used
    with pytest.raises(rag.RagError, match="YYYY-MM-DD"):
        assistant.ask("How many died?", as_of="last Tuesday")


def test_sources_lead_with_the_answers_passage_then_fuse_retrieval_and_reading_one_per_story():
    from rag.answer.reader import RRF_K, Reading, sources

    # Retrieval ranked a, b, c, d; the reader's best sentence is in d, its next in e (a copy of c),
    # its third in b. Fused: b (retrieved 2nd, read 3rd) passes a (retrieved 1st, never read).
    pool = [_cand(x, f"Passage {x}.").passage for x in "abcd"]
    reading = Reading(ranked=[_cand("d", "Best."), _cand("e", "Copy of c."), _cand("b", "Third.")], probabilities=[0.9, 0.5, 0.4])
    story = {"e": "c"}.get
    assert 1 / (RRF_K + 1) + 1 / (RRF_K + 2) > 1 / RRF_K + 1 / (RRF_K + 3 + 4)
    assert [p.chunk.doc_id for p in sources(reading, pool, 3, lambda d: story(d, d))] == ["d", "b", "a"]
    assert [p.chunk.doc_id for p in sources(reading, pool, 9, lambda d: story(d, d))] == ["d", "b", "a", "c"]
    assert [p.chunk.doc_id for p in sources(Reading(), pool, 3)] == ["a", "b", "c"]  # nothing read: retrieval's order
    # Read in the same order as retrieved, the fusion keeps it.
    same = Reading(ranked=[_cand(x, "S.") for x in "abcd"], probabilities=[0.9, 0.8, 0.7, 0.6])
    assert [p.chunk.doc_id for p in sources(same, pool, 4)] == ["a", "b", "c", "d"]


def test_sources_of_one_story_keep_their_order_and_show_each_passage_once():
    from rag.answer.reader import Reading, sources

    # A one-article corpus: every passage is the same story, so k are filled from it.
    chunks = [Passage(Chunk(f"a-{i}", "a", f"Passage {i}.", 0, 1), 1.0 - i / 10) for i in range(4)]
    reading = Reading(ranked=[SentenceCandidate("a", Sentence("x", 0, 1), chunks[2], 2, 0)], probabilities=[0.9])
    assert [p.chunk.id for p in sources(reading, chunks, 3)] == ["a-2", "a-0", "a-1"]


# -- what a quoted sentence must hold for the question's kind --------------------------------------


def _decided(question: str, sentence: str, confidence: float = 0.9):
    from rag.answer.reader import Reading, with_threshold

    reading = Reading(ranked=[_cand("a", sentence)], probabilities=[0.9], confidence=confidence)
    return with_threshold(analyze(question), reading, 0.3)


@pytest.mark.parametrize(
    ("sentence", "answered"),
    [
        ("Thirteen people have died in the fire, police said.", True),
        ("Dozens of attackers were killed overnight.", True),
        ("No one was hurt, the company said.", True),
        ("The province will pay up to $5,000 to each household.", True),
        # about the dead, but it gives no count: the ordinal is not one
        ("Hundreds of mourners attended the funeral of the first worker to die.", True),
        ("Mourners attended the funeral of the first worker to die.", False),
    ],
)
def test_a_count_is_answered_only_by_a_sentence_that_gives_an_amount(sentence, answered):
    decided = _decided("How many people have died in the fire?", sentence)
    assert decided.answerable is answered
    if not answered:
        assert decided.reason == "no passage gives the number asked for"


_COUNTS_ANOTHER = "the passage that comes closest gives no number of"
_NO_SPEECH = "no passage reports what was said"
_UNSAID = "the passage that comes closest does not mention"
_NO_NAME = "no passage gives the name asked for"
_NO_PERSON = "no passage names the"


@pytest.mark.parametrize(
    ("question", "sentence", "reason"),  # reason: how the abstention starts; None: answered
    [
        # A count that names the thing asked must count it: this one names the paratroopers, but
        # its only amount counts the demonstrators.
        ("How many Russian paratroopers were sent?",
         "Dozens of demonstrators have been reported dead and Russia sent in paratroopers to crush the uprising.",
         f"{_COUNTS_ANOTHER} Russian paratroopers"),
        ("How many Russian paratroopers were sent?", "Russia sent about 3,000 paratroopers to crush the uprising.", None),
        # an amount whose noun the parse cannot tell may count the thing
        ("How many people have died?", "The death toll among people in the valley rose to two.", None),
        # a date to spaCy, and the amount a "how many years" question asks for
        ("After how many years on the run was the fugitive arrested?",
         "The No. 1 fugitive was arrested on Monday after 30 years on the run.", None),
        # "released" is not the releases asked for, whatever the "(65)" is parsed to count
        ("The record for the most albums by a female singer came with how many releases?",
         "She received records for the most studio albums released by a female country singer (65).", None),
        # the thing asked about is not named: another noun may stand for it ("workers" for "people")
        ("How many people have died?", "Two workers have now died.", None),
        # A question asking what someone said needs reported speech: this names him and them, and
        # reports nothing he said.
        ("What has he called the demonstrators?",
         "His removal did little to calm demonstrators, who rail against President Tokayev.", _NO_SPEECH),
        ("What has he called the demonstrators?", "Tokayev has dubbed the demonstrators “terrorist gangs”.", None),
        ("What did the water authority say yesterday?", "The Harl Dam was not breached, the Ostmere Water Authority said.", None),
        ("What did the minister say about the dam?", "According to the minister, the dam was sound.", None),
        # the verb of saying governs a clause: the fact reported is asked for, in whatever words
        ("What did the hospital say the death toll was?", "Officials at the hospital put the death toll at 14.", None),
        # A question asking for a name needs a sentence naming something it does not.
        ("What is the name of the blogger who filmed the fire?",
         "Video posted by a local blogger showed the mayor's office ablaze.", _NO_NAME),
        ("What is the name of the blogger who filmed the fire?", "The blogger, Aidar Kassym, filmed the fire.", None),
        # a quoted title is a name too
        ("What is the name of the government's new energy plan?",
         "The government has unveiled its “Powering up Britain” plan.", None),
        # A question asking who holds a role needs a sentence naming a person: these repeat the role,
        # and name other things (Instagram, Central Asia, Almaty).
        ("What is the name of the Russian lawmaker who called Central Asia Russian land?",
         "A Russian lawmaker offered similar sentiments on Instagram, calling Central Asia “Russian land”.", _NO_PERSON),
        ("Who is the mayor of Almaty?", "Gunfire erupted anew in the main square in the largest city, Almaty, according to TASS.",
         _NO_PERSON),
        ("Who is the police chief in Almaty who called the protesters extremists?",
         "The local police chief was quoted calling the protesters “extremists and radicals.”", _NO_PERSON),
        ("Who is the mayor of Brackwater?", "Mayor Ruth Pellinger urged residents of low-lying streets to leave.", None),
        # a person's name the question already holds is no answer; another one is
        ("Who is the president of Kazakhstan?", "President Tokayev spoke to President Putin.", None),
        ("Who is the president of Kazakhstan?", "The president of Kazakhstan declared a state of emergency.", _NO_PERSON),
        # not a role of people: any name will do ("Powering up Britain" above), and a named man is
        # asked about, not for
        ("Who is Nursultan Nazarbayev?", "Nazarbayev ruled the country for three decades until 2019.", None),
        # "which broadcaster" may be answered by an outlet, as the seed article does
        ("Which broadcaster reported the deaths?", "State TV reported that more than a dozen officers were dead.", None),
        # A yes-or-no question needs the things it asks of: without them it cannot be settled.
        ("Did he have a family?", "The rowing club will hold a memorial regatta for Jonas Mirre.", _UNSAID),
        ("Has the prime minister visited Brackwater?", "Renwald announced the inquiry during his first visit to Brackwater.", _UNSAID),
        ("Did the dam burst?", "The Harl Dam burst shortly before 4 a.m.", None),
        # the verb may be paraphrased ("leak" / "escaped"), the things may not
        ("Did any chlorine leak from the plant?", "No chlorine escaped from the plant, the company said.", None),
        # half the things' weight is enough: "banks" answers "Can people still get to their banks?"
        ("Can people still get to their banks?", "Banks have been shut down across the nation.", None),
    ],
)
def test_a_sentence_answers_only_a_question_of_its_kind(question, sentence, reason):
    decided = _decided(question, sentence)
    assert decided.answerable is (reason is None), decided.reason
    if reason is not None:
        assert decided.reason.startswith(reason)


def test_how_long_is_not_a_count_and_a_confident_reading_is_not_overruled_twice():
    # "How long" asks a duration ("a year ago"), not an amount: no amount is required.
    assert _decided("How long before these events did Americans storm the Capitol?", "It happened a year ago.").answerable
    # The calibrated decision still comes first: an unsure reading abstains whatever it holds.
    assert not _decided("How many people have died?", "Thirteen people have died.", confidence=0.1).answerable


def test_only_yes_or_no_why_and_how_questions_name_the_things_they_ask_of():
    assert analyze("Did he have a family?").things == ("family",)
    assert analyze("And has the prime minister visited Brackwater?").things == ("minister",)
    assert analyze("Who visited the family?").things == ()
    assert analyze("How many families were evacuated?").things == ()
    # why and how questions: the nouns of the clause that asks, not of a quiz's preamble
    assert analyze("Why was the internet shut down in Kazakhstan?").things == ("internet",)
    assert analyze("What caused a 70-vehicle crash in Illinois this week?").things == ("vehicle", "crash")  # no "week"
    assert analyze("Protests spread this week. How did a fuel price rise turn into riots?").things == ("fuel", "price", "rise", "riots")


def test_a_sentence_that_only_repeats_the_question_answers_nothing():
    question = "Which new Channel 4 series has provoked almost 1,000 complaints to Ofcom?"
    decided = _decided(question, "Which new Channel 4 series has provoked almost 1,000 complaints to Ofcom?")
    assert not decided.answerable and decided.reason == "the closest passage only repeats the question"
    # One word the question did not have is something said.
    assert _decided(question, "The Piano, a new Channel 4 series, has provoked almost 1,000 complaints to Ofcom.").answerable


def test_a_sentence_stating_just_the_claim_still_answers_a_yes_or_no_question():
    assert _decided("Did the dam burst?", "The dam burst.").answerable
    assert _decided("True or false: at least 2,000 people have been arrested.", "At least 2,000 people have been arrested.").answerable


def test_a_why_or_how_answer_must_be_about_the_things_its_question_asks_of():
    decided = _decided("Why was the internet shut down in Kazakhstan?", "Banks have been shut down across the nation.")
    assert not decided.answerable and decided.reason == "the passage that comes closest does not mention internet"
    assert _decided(
        "Why did the protests start?", "The protests started over the end of price caps on liquefied petroleum gas."
    ).answerable
    # A quiz's preamble names things the asking clause does not ask about.
    assert _decided(
        "Crowds filled the squares of Almaty this week. Why did the protests start?",
        "The protests started over the end of price caps on liquefied petroleum gas.",
    ).answerable

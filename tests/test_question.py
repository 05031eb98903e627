"""Reading questions: answer classes from grammar, the noun asked about, and follow-ups in a conversation."""

from __future__ import annotations

import pytest

from rag.answer.conversation import is_follow_up, resolve
from rag.answer.nouns import names_people
from rag.answer.question import FACTOID, analyze


@pytest.mark.parametrize(
    ("question", "answer_class", "focus"),
    [
        ("How many people were arrested?", "number", "people"),
        ("How much did the fuel cost?", "number", ""),
        # A partitive counts its group; "how much of" measures a part of one thing instead.
        ("How many of the protesters were arrested?", "number", "protesters"),
        ("How many of them were sent?", "number", ""),
        ("How much of the river is closed to fishing?", "number", ""),
        ("When did the protests begin?", "time", ""),
        ("On what day did the protests turn deadly?", "time", "day"),
        ("Who is the president of Kazakhstan?", "person", ""),
        ("Where did the shooting start?", "place", ""),
        ("Which team does Damar Hamlin play for?", "thing", "team"),
        ("What is the name of the Russian foreign ministry spokesperson?", "thing", "Russian foreign ministry spokesperson"),
        ("The Georgia Bulldogs romped past this opponent on Monday to win the title.", "thing", "opponent"),
        ("Mikaela Shiffrin broke the record previously held by:", "thing", ""),
        ("Why did the protests start?", "reason", ""),
        ("How did the police respond?", "manner", ""),
        ("What did Tokayev call the demonstrators?", "quote", ""),
        # A copula's subject says what is asked for when it is a number, time or place noun.
        ("What was the death toll on Tuesday?", "number", "death toll"),
        ("What is the date of the vote?", "time", "date"),
        ("What is the capital of France?", "other", ""),
        # "which X" after a preposition, which the small parser attaches to the preposition.
        ("A deadly plane crash recently occurred in which South Asian country?", "thing", "South Asian country"),
        ("About 100 Ukrainians will travel to which US state to learn to use the missiles?", "thing", "US state"),
        ("She also appeared in which of these films?", "thing", "films"),
        ("Under which Moscow-led bloc's banner are the soldiers being sent in?", "thing", "bloc"),
        ("The court took up challenges concerning which of President Joe Biden's key programs?", "thing", "key programs"),
        ("In which city was the first Mardi Gras celebration held?", "thing", "city"),
        ("Tim Scott announced his campaign this week. Scott is a senator for which state?", "thing", "state"),
        ("What was the magnitude of the quake?", "other", ""),  # "what" alone: no noun follows it
        # A preamble's relative "who" does not make this a question about a person.
        ("NASA named the astronauts who will fly around the moon. How many astronauts were picked?", "number", "astronauts"),
    ],
)
def test_answer_class_and_focus_come_from_the_grammar(question, answer_class, focus):
    q = analyze(question)
    assert q.answer_class == answer_class
    assert q.focus == focus
    assert q.factoid == (answer_class in FACTOID)


def test_time_words_do_not_weigh_as_terms():
    q = analyze("How many people were missing on Wednesday?", time_words="on Wednesday")
    assert set(q.weights) == {"peopl", "miss"}
    assert "wednesday" in analyze("How many people were missing on Wednesday?").weights
    assert set(analyze("What happened on Wednesday?", time_words="on Wednesday").weights) == {"wednesday"}


def test_named_things_and_weights():
    q = analyze("How many people did police arrest in Almaty?", idf=lambda stems: [2.0 if s == "almati" else 0.5 for s in stems])
    assert "Almaty" in q.entities
    assert q.weights["almati"] == 2.0 and q.weights["arrest"] == 0.5
    # A pronoun's referent counts as a term and a named thing of the question.
    follow = analyze("What did he say?", referent="Kassym-Jomart Tokayev")
    assert "tokayev" in follow.weights and "Kassym-Jomart Tokayev" in follow.entities



def test_a_name_beside_a_year_or_a_number_is_still_a_name():
    # spaCy tags "2024" a DATE and leaves the proper nouns after it unlabelled: a name beside a
    # title is part of that name, but a year is no title.
    assert "Democratic National Convention" in analyze("Which city will host the 2024 Democratic National Convention?").entities


# -- follow-ups ----------------------------------------------------------------------------


def _turns(*pairs: str) -> list[dict]:
    out = []
    for i, text in enumerate(pairs):
        out.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return out


def test_he_resolves_to_the_person_who_answered_the_last_question():
    history = _turns("Who is the president of Kazakhstan?", "President Kassym-Jomart Tokayev. [1]")
    r = resolve("What did he call the demonstrators?", history)
    assert r.referent == "Kassym-Jomart Tokayev"
    assert r.note is None  # one person fits: nothing to say
    assert r.query.startswith("What did he call the demonstrators? Kassym-Jomart Tokayev")


def test_she_skips_people_the_question_names_and_non_people():
    history = _turns(
        "Who compared the events to the Capitol riot?",
        "Maria Zakharova, a spokesperson for Russia's foreign ministry, wrote on Facebook. [1]",
    )
    r = resolve("Where did she post that?", history)
    assert r.referent == "Maria Zakharova"  # not Russia, not Facebook: "she" wants a person


def test_they_and_it_take_things_that_are_not_people():
    history = _turns("Which hacker group threatened the troops?", "The Cyber Partisans vowed to unmask Belarusian soldiers, Meduza reports.")
    r = resolve("What did they vow?", history)
    assert r.referent is not None and "Cyber Partisans" in r.referent


def test_it_takes_the_thing_the_last_answer_named_without_a_name():
    history = _turns("Is anyone going to investigate what happened at the dam?",
                     "Yes. Governor Tobias Renwald ordered an independent inquiry on Friday.")
    r = resolve("Who's running it?", history)
    assert r.referent == "inquiry"  # not the governor ("it" is no person), not "Friday"
    assert r.note == "Taking “it” to mean the inquiry."  # a reading of grammar, so it is said
    assert r.query.startswith("Who's running it? inquiry")
    # A name that fits still wins over a common noun.
    named = resolve("Where is it?", _turns("Where are evacuees staying?", "In the sports hall of Brackwater Grammar School."))
    assert named.referent == "Brackwater Grammar School"


def test_them_in_a_partitive_is_the_group_the_last_answer_named():
    # "Of them" after "how many" is a share of a group: the plural noun, not the country.
    history = _turns("Which country's troops went into Kazakhstan?", "Russia sent in paratroopers to crush the uprising.")
    r = resolve("how many of them were sent?", history)
    assert r.question == "how many of the paratroopers were sent?"
    assert r.referent == "paratroopers"
    assert r.note == "Taking “them” to mean the paratroopers."
    assert analyze(r.question).focus == "paratroopers"  # so the count is checked against them
    # Elsewhere "them" is left to the named things, and the question is not rewritten.
    other = resolve("What did Russia tell them?", history)
    assert other.question == "What did Russia tell them?"


def test_in_a_reply_without_a_verb_it_is_the_name_the_reply_is_built_on():
    history = _turns("What is the CSTO?", "The Russia-led Collective Security Treaty Organization, which sent troops.")
    r = resolve("Which other countries are in it?", history)
    assert r.referent == "Collective Security Treaty Organization"  # not Russia, which only modifies it


def test_several_people_to_choose_from_is_said_out_loud():
    history = _turns(
        "Who met in Moscow?",
        "Vladimir Putin met Alexander Lukashenko and Kassym-Jomart Tokayev on Thursday.",
    )
    r = resolve("What did he say?", history)
    assert r.referent == "Vladimir Putin"
    assert r.note == "Taking “he” to mean Vladimir Putin."


def test_a_follow_up_after_an_abstention_looks_at_the_question_it_followed():
    history = _turns(
        "Who is the mayor of Almaty?",
        "The indexed articles don't say: no passage clearly gives the person asked for.",
    )
    r = resolve("Where does it lie?", history)
    assert r.referent == "Almaty"
    assert "don't say" not in r.query  # an abstention is not context to retrieve with


def test_and_belarus_is_read_as_the_previous_question_about_belarus():
    history = _turns("Who is the leader of Kazakhstan?", "Kassym-Jomart Tokayev. [1]")
    r = resolve("And Belarus?", history)
    assert r.question == "Who is the leader of Belarus?"
    assert r.note == "Reading it as: Who is the leader of Belarus?"


def test_a_whole_question_after_and_is_not_read_as_an_ellipsis():
    history = _turns("Which Russian official compared the unrest to the U.S. Capitol riot?",
                     "Foreign ministry spokesperson Maria Zakharova. [1]")
    r = resolve("And what did she say American authorities did?", history)
    assert r.question == "And what did she say American authorities did?"
    assert not (r.note or "").startswith("Reading it as")


def test_standalone_questions_are_left_alone():
    history = _turns("Who is the leader of Kazakhstan?", "Kassym-Jomart Tokayev. [1]")
    r = resolve("How many people were arrested in Almaty?", history)
    assert r.question == r.query == "How many people were arrested in Almaty?"
    assert r.referent is None and not is_follow_up("How many people were arrested in Almaty?")
    assert resolve("What did he say?", None).query == "What did he say?"  # nothing to resolve against


def test_an_unresolvable_pronoun_says_whom_the_answer_took_it_to_mean():
    from rag.answer.conversation import taken_to_mean

    history = _turns("What happened in Almaty?", "Gunfire erupted anew in the main square.")
    r = resolve("What did he say?", history)
    assert r.referent is None and r.pronoun == "he"
    assert taken_to_mean(r, "Tokayev has dubbed the demonstrators “terrorist gangs”.") == "Taking “he” to mean Tokayev."
    assert taken_to_mean(resolve("What did Tokayev say?", history), "Tokayev said so.") is None


@pytest.mark.parametrize(
    ("noun", "people"),
    [
        ("lawmaker", True),
        ("spokesperson", True),
        ("Mayor", True),  # case does not matter
        ("police chief", True),  # a compound WordNet lists
        ("plan", False),
        ("company", False),
        ("rocket", False),
        # only a noun's most common sense counts: a founder is first a horse's disease to WordNet
        ("founder", False),
    ],
)
def test_nouns_of_people_come_from_wordnet(noun, people):
    assert names_people(noun) is people

"""rag.timewords: a question's time words resolved against the day it is asked."""

from __future__ import annotations

from datetime import date

import pytest

from rag.timewords import TimeRange, resolve, strip_time_words

AS_OF = date(2026, 3, 6)  # a Friday; its week began on Monday 2026-03-02
D = date


def _span(question: str, as_of: date = AS_OF) -> tuple[date | None, date | None] | None:
    found = resolve(question, as_of)
    return None if found is None else (found.start, found.end)


@pytest.mark.parametrize(
    ("question", "start", "end", "text"),
    [
        ("What happened today?", D(2026, 3, 6), D(2026, 3, 6), "today"),
        ("What happened yesterday?", D(2026, 3, 5), D(2026, 3, 5), "yesterday"),
        ("What happened the day before yesterday?", D(2026, 3, 4), D(2026, 3, 4), "the day before yesterday"),
        ("Who speaks tonight?", D(2026, 3, 6), D(2026, 3, 6), "tonight"),
        ("What did the minister say this morning?", D(2026, 3, 6), D(2026, 3, 6), "this morning"),
        ("What happened last night?", D(2026, 3, 5), D(2026, 3, 5), "last night"),
        ("What happened yesterday morning?", D(2026, 3, 5), D(2026, 3, 5), "yesterday morning"),
    ],
)
def test_relative_days(question, start, end, text):
    assert resolve(question, AS_OF) == TimeRange(start, end, text)


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("What happened on Tuesday?", D(2026, 3, 3)),  # the most recent Tuesday
        ("What happened Tuesday?", D(2026, 3, 3)),
        ("What happened on tuesday night?", D(2026, 3, 3)),
        ("What happened on Friday?", D(2026, 3, 6)),  # as_of is a Friday: that day itself
        ("What happened on Saturday?", D(2026, 2, 28)),  # never after as_of
        ("What happened last Tuesday?", D(2026, 2, 24)),  # the Tuesday of the previous week
        ("What happened last Sunday?", D(2026, 3, 1)),
        ("What happened this Tuesday?", D(2026, 3, 3)),  # the Tuesday of this week
        ("Who won Tuesday's vote?", D(2026, 3, 3)),
    ],
)
def test_weekdays(question, day):
    assert _span(question) == (day, day)


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("Will it rain on Sunday?", D(2026, 3, 8)),  # the coming Sunday, not the one just past
        ("What's going to happen on Monday?", D(2026, 3, 9)),
        ("When'll they vote, Tuesday?", D(2026, 3, 10)),
        ("Will the schools open on Friday?", D(2026, 3, 6)),  # as_of is a Friday: that day itself
        ("Which teams won't play on Saturday?", D(2026, 3, 7)),
        ("What did they say they would do on Tuesday?", D(2026, 3, 3)),  # past tense: the last Tuesday
    ],
)
def test_a_weekday_in_the_future_tense_is_the_coming_one(question, day):
    assert _span(question) == (day, day)


def test_bare_weekday_on_that_weekday_is_as_of():
    assert _span("What happened on Tuesday?", as_of=D(2026, 3, 3)) == (D(2026, 3, 3), D(2026, 3, 3))


def test_plural_weekday_is_habitual_not_a_date():
    assert resolve("Which markets open on Tuesdays?", AS_OF) is None


def test_by_weekday_is_a_snapshot():
    assert resolve("How many were arrested by Tuesday?", AS_OF) == TimeRange(None, D(2026, 3, 3), "by Tuesday", by=True)


@pytest.mark.parametrize(
    ("question", "one_day"),
    [("What happened on Wednesday?", True), ("What happened yesterday?", True), ("What happened this week?", False),
     ("How many were arrested by Tuesday?", False), ("What happened before 1990?", False)],
)
def test_one_day_is_a_single_named_day_not_a_snapshot(question, one_day):
    assert resolve(question, AS_OF).one_day is one_day


def test_as_of_weekday_is_a_snapshot():
    found = resolve("As of Tuesday, how many had been arrested?", AS_OF)
    assert found == TimeRange(None, D(2026, 3, 3), "As of Tuesday", by=True)


def test_until_a_day_is_a_snapshot():
    assert resolve("What was known until March 3?", AS_OF) == TimeRange(None, D(2026, 3, 3), "until March 3", by=True)


def test_since_monday_runs_to_as_of():
    assert resolve("What has changed since Monday?", AS_OF) == TimeRange(D(2026, 3, 2), AS_OF, "since Monday")


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened this week?", D(2026, 3, 2), D(2026, 3, 6)),
        ("What happened earlier this week?", D(2026, 3, 2), D(2026, 3, 6)),
        ("What happened last week?", D(2026, 2, 23), D(2026, 3, 1)),
        ("What happened the previous week?", D(2026, 2, 23), D(2026, 3, 1)),
        ("What happened last weekend?", D(2026, 2, 28), D(2026, 3, 1)),
        ("What happened this month?", D(2026, 3, 1), D(2026, 3, 6)),
        ("What happened last month?", D(2026, 2, 1), D(2026, 2, 28)),
        ("What happened this year?", D(2026, 1, 1), D(2026, 3, 6)),
        ("What happened last year?", D(2025, 1, 1), D(2025, 12, 31)),
        ("Who won last year's election?", D(2025, 1, 1), D(2025, 12, 31)),
    ],
)
def test_calendar_units(question, start, end):
    assert _span(question) == (start, end)


@pytest.mark.parametrize(
    ("question", "start", "text"),
    [
        ("What happened in the past 3 days?", D(2026, 3, 3), "in the past 3 days"),
        ("What happened over the last three days?", D(2026, 3, 3), "over the last three days"),
        ("What happened in the past week?", D(2026, 2, 27), "in the past week"),  # rolling, not the calendar week
        ("What happened in the last two weeks?", D(2026, 2, 20), "in the last two weeks"),
        ("What happened in the past twenty-four hours?", D(2026, 3, 5), "in the past twenty-four hours"),
        ("What happened in the last 6 months?", D(2025, 9, 6), "in the last 6 months"),
    ],
)
def test_rolling_windows_end_at_as_of(question, start, text):
    assert resolve(question, AS_OF) == TimeRange(start, AS_OF, text)


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("What happened 5 days ago?", D(2026, 3, 1)),
        ("What happened three days ago?", D(2026, 3, 3)),
        ("What happened a week ago?", D(2026, 2, 27)),
    ],
)
def test_days_ago_is_one_day(question, day):
    assert _span(question) == (day, day)


@pytest.mark.parametrize(
    "question",
    [
        "What happened recently?",
        "What has the government said lately?",
        "What is the latest on the strike?",
        "What happened in the last few days?",  # no number to count back
        "What is planned for next week?",  # future-relative: not resolved
    ],
)
def test_recency_words_are_not_a_range(question):
    assert resolve(question, AS_OF) is None


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened in March?", D(2026, 3, 1), D(2026, 3, 6)),  # as_of is in March: this March, to as_of
        ("What happened in February?", D(2026, 2, 1), D(2026, 2, 28)),
        ("What happened in April?", D(2025, 4, 1), D(2025, 4, 30)),  # the most recent April
        ("What happened in December?", D(2025, 12, 1), D(2025, 12, 31)),
        ("What happened last March?", D(2025, 3, 1), D(2025, 3, 31)),
        ("What happened in March 2026?", D(2026, 3, 1), D(2026, 3, 6)),
        ("What happened in March 2024?", D(2024, 3, 1), D(2024, 3, 31)),
        ("What happened in Sept. 2025?", D(2025, 9, 1), D(2025, 9, 30)),
    ],
)
def test_months(question, start, end):
    assert _span(question) == (start, end)


@pytest.mark.parametrize(
    ("question", "day", "text"),
    [
        ("What happened on March 3?", D(2026, 3, 3), "on March 3"),
        ("What happened March 3rd?", D(2026, 3, 3), "March 3rd"),
        ("What happened on 3 March?", D(2026, 3, 3), "on 3 March"),
        ("What happened on the 3rd of March?", D(2026, 3, 3), "3rd of March"),
        ("What happened on March 10?", D(2025, 3, 10), "on March 10"),  # not after as_of without a year
        ("What happened on March 3, 2024?", D(2024, 3, 3), "on March 3, 2024"),
        ("What happened on 3 March 2025?", D(2025, 3, 3), "on 3 March 2025"),
        ("What happened on 2026-03-03?", D(2026, 3, 3), "on 2026-03-03"),
        ("What happened on Feb 29?", D(2024, 2, 29), "on Feb 29"),  # the last Feb 29 that existed
        ("what happened on march 3", D(2026, 3, 3), "on march 3"),  # lowercase is fine with a day
        ("what happened on may 5th", D(2025, 5, 5), "on may 5th"),
    ],
)
def test_days_of_the_month(question, day, text):
    assert resolve(question, AS_OF) == TimeRange(day, day, text)


@pytest.mark.parametrize("question", ["What happened on June 31?", "What happened on 2026-02-30?"])
def test_impossible_days_are_not_dates(question):
    assert resolve(question, AS_OF) is None


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened in 1954?", D(1954, 1, 1), D(1954, 12, 31)),
        ("What happened in 1954 when the coup began?", D(1954, 1, 1), D(1954, 12, 31)),
        ("What happened in the 1990s?", D(1990, 1, 1), D(1999, 12, 31)),
        ("How many died in the 1987 flood?", D(1987, 1, 1), D(1987, 12, 31)),  # that year's event
        ("What changed since 2020?", D(2020, 1, 1), AS_OF),
        ("Who ruled before 2020?", None, D(2019, 12, 31)),
        ("What happened after March 3?", D(2026, 3, 4), None),
    ],
)
def test_years_and_open_ranges(question, start, end):
    assert _span(question) == (start, end)


@pytest.mark.parametrize(
    "question",
    [
        "What happened before the election?",  # an event we cannot date: no guess
        "Who was rescued after the storm?",
        "What did April Ryan ask?",  # a name
        "What did she write in April Ryan's column?",
        "May I ask who won?",  # the modal verb
        "What may happen to the talks?",
        "What may happen in may?",  # lowercase month without a day
        "Can May 5 people attend?",
        "Who organised the March on Washington?",
        "Were they seen in 300 cases?",  # not a year
        "Were they seen in 2000 cases?",
        "Was it sold for $2000?",
        "What happened in 1799?",  # outside 1800..as_of.year+1
        "What will happen in 2028?",
        "Who will win the 2026 election?",  # this year's or last year's event is today's news
        "What did the 2025 budget cut?",
        "How many attended?",
    ],
)
def test_non_time_words_are_left_alone(question):
    assert resolve(question, AS_OF) is None


def test_a_capitalised_month_with_a_preposition_is_a_month_even_before_numbers():
    assert _span("In March 300 people died; why?") == (D(2026, 3, 1), D(2026, 3, 6))


def test_the_most_specific_expression_wins():
    found = resolve("What happened this year, on Tuesday, in Almaty?", AS_OF)
    assert found == TimeRange(D(2026, 3, 3), D(2026, 3, 3), "on Tuesday")


def test_ties_go_to_the_first_expression():
    assert resolve("Compare yesterday with today.", AS_OF).text == "yesterday"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened in Almaty on Tuesday?", "What happened in Almaty?"),
        ("As of Tuesday, how many had been arrested?", "How many had been arrested?"),
        ("What happened in Almaty, yesterday?", "What happened in Almaty?"),
        ("How many   protesters were arrested over the last three days in Almaty?",
         "How many protesters were arrested in Almaty?"),
        ("What happened the day before yesterday?", "What happened?"),
        ("Yesterday?", "Yesterday?"),  # nothing would be left to search for
    ],
)
def test_strip_time_words(question, expected):
    assert strip_time_words(question, resolve(question, AS_OF)) == expected


def test_strip_time_words_without_a_range_only_tidies_whitespace():
    assert strip_time_words("  What happened   recently ? ", None) == "What happened recently?"


def test_units_cross_the_year_boundary():
    new_year = D(2026, 1, 1)  # a Thursday
    assert _span("What happened last month?", new_year) == (D(2025, 12, 1), D(2025, 12, 31))
    assert _span("What happened this week?", new_year) == (D(2025, 12, 29), new_year)
    assert _span("What happened in December?", new_year) == (D(2025, 12, 1), D(2025, 12, 31))


def test_a_window_off_the_calendar_is_dropped_not_raised():
    assert resolve("What happened in the past 3000 years?", AS_OF) is None

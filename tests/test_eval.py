"""rag.evaluation: gold-file validation and the metric definitions on hand-computed examples."""

from __future__ import annotations

import json

import pytest
from conftest import GOLD

from rag.errors import RagError
from rag.evaluation import GoldError, compute_metrics, load_gold, score_row
from rag.evaluation.metrics import answer_correct, exact_match, percentile, token_f1
from rag.evaluation.runner import count_unsupported
from rag.types import Answer, Citation

# -- load_gold ----------------------------------------------------------------------------------


def _gold(tmp_path, *lines: str):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "q1", "question": "How many?", "answers": ["2,000"], "evidence": ["2,000 people"]})


def test_load_gold_good(tmp_path):
    path = _gold(
        tmp_path,
        GOOD,
        "",
        json.dumps({"id": 2, "question": "Capital of France?", "answers": []}),
        json.dumps(
            {
                "id": "q3",
                "question": " What did he say? ",
                "answers": ["x"],
                "history": [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Him."}],
                "date": "2022-01-06",
            }
        ),
    )
    items = load_gold(path)
    assert [i.id for i in items] == ["q1", "2", "q3"]
    assert items[0].answerable and items[0].answers == ["2,000"] and items[0].evidence == ["2,000 people"]
    assert not items[1].answerable and items[1].answers == []
    assert items[2].question == "What did he say?"
    assert items[2].history[1] == {"role": "assistant", "content": "Him."}
    assert items[2].date == "2022-01-06"


def test_repeated_ids_are_kept_under_a_unique_id(tmp_path):
    path = _gold(tmp_path, GOOD, "", '{"id": "q1", "question": "Q again?", "answers": ["a"]}')
    items = load_gold(path)
    assert [i.id for i in items] == ["q1", "q1#3"]
    assert items[1].question == "Q again?"


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ('{"id": "q2", "question": "Q?", "answers": ["a"]', "JSON"),
        ('["not", "an", "object"]', "object"),
        ('{"question": "Q?", "answers": ["a"]}', "'id'"),
        ('{"id": true, "question": "Q?", "answers": ["a"]}', "'id'"),
        ('{"id": "q2", "answers": ["a"]}', "'question'"),
        ('{"id": "q2", "question": "   ", "answers": ["a"]}', "'question'"),
        ('{"id": "q2", "question": "Q?"}', "'answers'"),
        ('{"id": "q2", "question": "Q?", "answers": "2,000"}', "'answers'"),
        ('{"id": "q2", "question": "Q?", "answers": [2000]}', "'answers'"),
        ('{"id": "q2", "question": "Q?", "answers": [], "answerable": true}', "'answers'"),
        ('{"id": "q2", "question": "Q?", "answers": ["a"], "answerable": "yes"}', "'answerable'"),
        ('{"id": "q2", "question": "Q?", "answers": ["a"], "evidence": "text"}', "'evidence'"),
        ('{"id": "q2", "question": "Q?", "answers": ["a"], "history": [{"role": "bot", "content": "x"}]}', "'history'"),
        ('{"id": "q2", "question": "Q?", "answers": ["a"], "history": "Who?"}', "'history'"),
        ('{"id": "q2", "question": "Q?", "answers": ["a"], "date": 20220106}', "'date'"),
    ],
)
def test_load_gold_errors_name_line_and_field(tmp_path, bad_line, field):
    path = _gold(tmp_path, GOOD, "", bad_line)  # the bad line is line 3 (blank lines count)
    with pytest.raises(GoldError) as exc:
        load_gold(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:3: "), message
    assert field in message
    assert "\n" not in message
    assert isinstance(exc.value, RagError)


def test_load_gold_file_errors(tmp_path):
    with pytest.raises(GoldError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(GoldError, match="no questions"):
        load_gold(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"id": 1, "question": "Caf\xe9?", "answers": ["a"]}\n'.encode("latin-1"))
    with pytest.raises(GoldError, match="UTF-8"):
        load_gold(latin)


def test_shipped_gold_files_load():
    seed = load_gold(GOLD / "seed.jsonl")
    heldout = load_gold(GOLD / "seed-heldout.jsonl")
    assert seed and heldout
    assert not {i.id for i in seed} & {i.id for i in heldout}
    seed_questions = {i.question.lower() for i in seed}
    assert not [i.question for i in heldout if i.question.lower() in seed_questions]
    for item in [*seed, *heldout]:
        assert item.answerable == bool(item.answers)


# -- single-answer metrics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "golds", "answerable", "abstained", "expected"),
    [
        ("At least 2,000 people have reportedly been arrested. [1]", ["2000"], True, False, True),
        ("At least 2000 people were arrested.", ["2,000"], True, False, True),
        ("About 20,000 people were arrested.", ["2,000"], True, False, False),
        ("Around 200 people were arrested.", ["2,000"], True, False, False),
        ("It was THE Terrorist Gangs!", ["terrorist gangs"], True, False, True),
        ("The indexed articles don't say: 2,000.", ["2,000"], True, True, False),  # abstained: wrong
        ("The indexed articles don't say.", [], False, True, True),
        ("Paris.", [], False, False, False),
        ("Anything at all", ["", "   "], True, False, False),  # an empty gold never matches
        ("Mentions [1] only", ["1"], True, False, False),  # citation markers are not the answer
    ],
)
def test_answer_correct(answer, golds, answerable, abstained, expected):
    assert answer_correct(answer, golds, answerable, abstained) is expected


def test_exact_match():
    assert exact_match("2,000 [1]", ["2000"])
    assert exact_match("The Almaty.", ["almaty"])
    assert not exact_match("2,000 people", ["2000"])


def test_token_f1_hand_computed():
    # answer tokens: at least 2000 people arrested (5); gold: 2000 people (2); common 2
    # precision 2/5, recall 2/2 -> f1 = 2 * 0.4 * 1 / 1.4
    assert token_f1("At least 2,000 people arrested", ["2000 people"]) == pytest.approx(0.8 / 1.4)
    assert token_f1("2,000 people", ["2000 people", "nothing"]) == pytest.approx(1.0)
    assert token_f1("Terrorist gangs [1]", ["terrorist gangs"]) == pytest.approx(1.0)
    assert token_f1("completely different", ["terrorist gangs"]) == 0.0
    assert token_f1("", ["x"]) == 0.0
    assert token_f1("x", []) == 0.0
    assert token_f1("the", ["the"]) == 0.0  # nothing left after normalisation


def test_percentile():
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([5.0], 0) == 5.0


# -- compute_metrics on hand-made rows ---------------------------------------------------------------


def _row(
    answer,
    answers,
    *,
    abstained=False,
    citations=(),
    retrieved=(),
    evidence=(),
    sentences=0,
    unsupported=0,
    timings=None,
    short=None,
    confidence=None,
):
    gold = {
        "id": "x",
        "question": "q",
        "answers": list(answers),
        "answerable": bool(answers),
        "evidence": list(evidence),
        "evidence_docs": [],
        "history": [],
        "date": None,
    }
    row = {
        "id": "x",
        "question": "q",
        "gold": gold,
        "answer": answer,
        "abstained": abstained,
        "mode": "extractive",
        "citations": [{"text": t} for t in citations],
        "retrieved": [{"chunk_id": f"c{i}", "doc_id": "d", "score": 1.0 - i / 10, "text": t} for i, t in enumerate(retrieved)],
        "timings": timings or {},
        "sentences": sentences,
        "unsupported": unsupported,
        "short": short,
        "confidence": confidence,
    }
    return score_row(row)


def test_short_answers_are_scored_on_their_own():
    rows = [
        _row("Buffalo Bills. Hamlin plays for the Buffalo Bills. [1]", ["Buffalo Bills"], short="Buffalo Bills"),
        # the quoted sentence holds the gold answer, but the short answer leading it is wrong
        _row("Cincinnati. Hamlin, of the Buffalo Bills, was taken to Cincinnati. [1]", ["Buffalo Bills"], short="Cincinnati"),
        _row("Hamlin plays for the Buffalo Bills. [1]", ["Buffalo Bills"]),
    ]
    m = compute_metrics(rows, k=5)
    assert m["accuracy"] == 1.0  # every answer text contains the gold answer
    assert m["short_accuracy"] == pytest.approx(1 / 2) and m["short_share"] == pytest.approx(2 / 3)


def test_risk_coverage_curve_answers_the_most_confident_first():
    from rag.evaluation.curve import risk_coverage

    rows = [
        _row("Right. [1]", ["right"], confidence=0.9),
        _row("Wrong. [1]", ["right"], confidence=0.8),
        _row("The indexed articles don't say.", ["right"], abstained=True, confidence=0.2),
    ]
    rows[2]["withheld"] = "Right, held back. [1]"
    curve = risk_coverage(rows)
    assert [round(c, 3) for c, *_ in curve] == [0.9, 0.8, 0.2]
    assert [round(cov, 3) for _, cov, _, _ in curve] == [0.333, 0.667, 1.0]
    assert [round(acc, 3) for *_, acc, _ in curve] == [1.0, 0.5, 0.667]  # the held-back answer was right
    assert [round(t, 3) for *_, t in curve] == [0.333, 0.0, 0.333]


def test_compute_metrics_hand_example():
    rows = [
        # answerable, right, one good and one bad citation, evidence at rank 2
        _row(
            "At least 2,000 people were arrested. [1]",
            ["2,000"],
            citations=["At least 2,000 people were arrested.", "Banks were shut."],
            retrieved=["Banks were shut.", "At least 2,000 people were arrested."],
            evidence=["2,000 people"],
            sentences=1,
            timings={"first_token": 0.1, "total": 0.2},
        ),
        # answerable, wrong, evidence not retrieved
        _row(
            "Banks were shut. [1]",
            ["terrorist gangs"],
            citations=["Banks were shut."],
            retrieved=["Banks were shut."],
            sentences=1,
            unsupported=1,
            timings={"first_token": 0.3, "total": 0.4},
        ),
        # answerable but abstained
        _row("The indexed articles don't say.", ["Thursday"], abstained=True, retrieved=["On Thursday it rained."]),
        # unanswerable, abstained (right) and answered (wrong)
        _row("The indexed articles don't say.", [], abstained=True),
        _row("Paris. [1]", [], citations=["Paris is in France."], sentences=1),
    ]
    m = compute_metrics(rows, k=5)
    assert m["questions"] == 5 and m["answerable"] == 3 and m["unanswerable"] == 2
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["answerable_accuracy"] == pytest.approx(1 / 3)
    # Three answers given: one right, two wrong (one to an unanswerable question); abstentions count 0.
    assert m["truthfulness"] == pytest.approx((1 - 2) / 5)
    assert m["exact_match"] == 0.0
    assert m["abstention_recall"] == pytest.approx(1 / 2)
    assert m["false_abstention_rate"] == pytest.approx(1 / 3)
    assert m["citation_precision"] == pytest.approx(1 / 3)  # answerable rows only: 1 good of 3
    assert m["cited_share"] == pytest.approx(3 / 3)  # every non-abstained answer cites
    assert m["unsupported_share"] == pytest.approx(1 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)  # rows 1 (rank 2) and 3 (rank 1, by answer)
    assert m["mrr"] == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert m["latency_total_p50"] == 0.0  # nearest rank over all five rows: 0, 0, 0, 0.2, 0.4
    assert m["latency_total_p95"] == pytest.approx(0.4)
    assert compute_metrics(rows, k=1)["recall@1"] == pytest.approx(1 / 3)


def test_compute_metrics_no_citations():
    rows = [_row("2,000 people", ["2,000"]), _row("Thursday", ["Thursday"])]
    m = compute_metrics(rows, k=5)
    assert m["citation_precision"] is None
    assert m["cited_share"] == 0.0
    assert m["answerable_accuracy"] == 1.0
    assert m["unsupported_share"] is None  # no sentences counted


def test_compute_metrics_all_unanswerable():
    rows = [_row("The indexed articles don't say.", [], abstained=True), _row("Paris.", [])]
    m = compute_metrics(rows, k=5)
    for name in (
        "answerable_accuracy",
        "exact_match",
        "token_f1",
        "false_abstention_rate",
        "recall@5",
        "mrr",
        "citation_precision",
    ):
        assert m[name] is None, name
    assert m["abstention_recall"] == 0.5
    assert m["accuracy"] == 0.5


def test_compute_metrics_empty_answers_and_no_rows():
    rows = [_row("", ["2,000"]), _row("", [])]
    m = compute_metrics(rows, k=5)
    assert m["answerable_accuracy"] == 0.0
    assert m["token_f1"] == 0.0
    assert m["abstention_recall"] == 0.0
    empty = compute_metrics([], k=5)
    assert empty["questions"] == 0
    assert empty["accuracy"] is None and empty["abstention_recall"] is None
    assert empty["latency_total_p50"] == 0.0


# -- count_unsupported ---------------------------------------------------------------------------------


def _citation(n: int, quote: str) -> Citation:
    return Citation(
        n=n, doc_id="d", title="t", published=None, text=quote, start=0, end=len(quote), score=1.0, quote=quote
    )


def test_count_unsupported():
    quote = "At least 2,000 people have reportedly been arrested."
    good = Answer("q", f"{quote} [1]", citations=[_citation(1, quote)])
    assert count_unsupported(good) == (1, 0)
    invented = Answer("q", "About 500 people were reportedly arrested. [1]", citations=[_citation(1, quote)])
    assert count_unsupported(invented) == (1, 1)
    uncited = Answer("q", f"{quote} [1] Banks were shut down.", citations=[_citation(1, quote)])
    assert count_unsupported(uncited) == (2, 1)
    dangling = Answer("q", f"{quote} [2]", citations=[_citation(1, quote)])
    assert count_unsupported(dangling) == (1, 1)


def test_count_unsupported_checks_a_true_verdict_against_its_quote():
    quote = "At least 2,000 people have reportedly been arrested."
    asked = "True or false: at least 2,000 people have reportedly been arrested?"
    stated = Answer(asked, f"True. {quote} [1]", citations=[_citation(1, quote)])
    assert count_unsupported(stated) == (2, 0)  # the verdict and the quote
    freed = "True or false: at least 2,000 people have reportedly been freed?"
    assert count_unsupported(Answer(freed, f"True. {quote} [1]", citations=[_citation(1, quote)])) == (2, 1)
    # A model may lead with a short answer too: it follows the verdict and is checked as a copy.
    with_short = Answer(asked, f"True. 2,000. {quote} [1]", citations=[_citation(1, quote)], short="2,000")
    assert count_unsupported(with_short) == (3, 0)


def test_retrieval_and_citation_matching_use_whole_words():
    from rag.evaluation.metrics import chunk_hits, citation_ok

    assert chunk_hits("At least 2,000 people", "d", [], [], ["2000"])
    assert not chunk_hits("About 20,000 people", "d", [], [], ["2,000"])
    assert chunk_hits("anything", "doc-7", [], ["doc-7"], ["2000"])
    assert chunk_hits("gunfire in the main square", "d", ["main square"], [], [])
    assert not citation_ok("About 20,000 people", [], ["2,000"])
    assert citation_ok("At least 2,000 people", [], ["2000"])


# -- retrieval-only rows -----------------------------------------------------------------------------


def _retrieval_row(answers, retrieved, *, evidence=(), evidence_docs=(), seconds=0.01):
    row = _row(None, answers, retrieved=(), evidence=evidence, timings={"retrieval": seconds, "total": seconds})
    row["gold"]["evidence_docs"] = list(evidence_docs)
    row["retrieved"] = [{"chunk_id": f"c{i}", "doc_id": d, "score": 0.5, "text": t} for i, (t, d) in enumerate(retrieved)]
    return score_row(row)


def test_retrieval_only_metrics_hand_example():
    rows = [
        # evidence string at rank 1
        _retrieval_row(["2,000"], [("2,000 people were arrested", "a"), ("x", "b")], evidence=["2,000 people"], seconds=0.01),
        # an evidence_docs article at rank 3
        _retrieval_row(["Bills"], [("x", "a"), ("y", "b"), ("z", "doc-9")], evidence_docs=["doc-9"], seconds=0.02),
        # nothing found
        _retrieval_row(["Thursday"], [("x", "a")], seconds=0.03),
        # unanswerable: counted, not scored for recall
        _retrieval_row([], [("x", "a")], seconds=0.04),
    ]
    m = compute_metrics(rows, k=5)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert compute_metrics(rows, k=2)["recall@2"] == pytest.approx(1 / 3)
    assert m["latency_retrieval_p50"] == pytest.approx(0.02)
    assert m["latency_retrieval_p95"] == pytest.approx(0.04)
    # no answer figures in a retrieval-only run: there are no answers to judge
    assert "accuracy" not in m and "citation_precision" not in m
    assert "correct" not in rows[0]


# -- failure causes, histogram ---------------------------------------------------------------------------


def test_failure_causes():
    from rag.evaluation.report import failure_cause

    ok = _row("2,000 arrested", ["2,000"], retrieved=["2,000 arrested"])
    assert failure_cause(ok, 5) is None
    wrong = _row("500 arrested", ["2,000"], retrieved=["2,000 arrested"])
    assert failure_cause(wrong, 5) == "wrong_answer"
    false_abstain = _row("The indexed articles don't say.", ["2,000"], abstained=True, retrieved=["2,000 arrested"])
    assert failure_cause(false_abstain, 5) == "false_abstention"
    blind = _row("The indexed articles don't say.", ["2,000"], abstained=True, retrieved=["banks shut"])
    assert failure_cause(blind, 5) == "abstained_not_retrieved"
    invented = _row("Paris.", [])
    assert failure_cause(invented, 5) == "answered_unanswerable"
    assert failure_cause(_retrieval_row(["x"], [("y", "a")]), 5) == "not_retrieved"
    assert failure_cause(_retrieval_row([], [("y", "a")]), 5) is None


def test_histogram():
    from rag.evaluation.report import histogram

    assert histogram([]) == []
    assert histogram([0.5, 0.5]) == [(0.5, 0.5, 2)]
    bars = histogram([0.0, 0.1, 0.2, 1.0], bins=4)
    assert [c for _, _, c in bars] == [3, 0, 0, 1]  # bins of 0.25 s; the maximum falls in the last
    assert bars[0][0] == 0.0 and bars[-1][1] == pytest.approx(1.0)


# -- the HTML report ---------------------------------------------------------------------------------------


def _result(rows, k=5, **settings):
    return {"metrics": compute_metrics(rows, k), "rows": rows, "settings": {"k": k, "mode": "auto", "gold": "g.jsonl", **settings}}


def test_report_lists_failures_with_passages_and_escapes_text():
    from rag.evaluation.report import render_report

    rows = [
        _row("2,000 arrested [1]", ["2,000"], citations=["2,000 arrested"], retrieved=["2,000 arrested"]),
        _row(
            "<script>alert(1)</script> was said [1]",
            ["terrorists"],
            citations=["<img src=x onerror=alert(2)>"],
            retrieved=["<b>bold</b> claim", "terrorists attacked"],
        ),
    ]
    rows[1]["id"] = "q-failed"
    page = render_report(_result(rows))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "q-failed" in page and "wrong answer" in page
    assert "first hit at rank 2" in page  # the passage that held the answer is pointed out
    assert page.count("<details class='q'>") == 1  # only the failed question
    assert "<svg" in page and "http" not in page  # self-contained: nothing fetched


def test_report_for_retrieval_only_and_empty_runs():
    from rag.evaluation.report import render_report

    rows = [_retrieval_row(["Bills"], [("x", "a")])]
    page = render_report(_result(rows))
    assert "evidence not retrieved" in page and "retrieval time" in page
    empty = render_report(_result([]))
    assert "No timings." in empty and "None." in empty


# -- comparing two runs ---------------------------------------------------------------------------------


def test_compare_results_hand_example():
    from rag.evaluation.compare import compare_results

    def run(correct_ids, all_ids=("a", "b", "c")):
        rows = []
        for qid in all_ids:
            r = _row("2,000" if qid in correct_ids else "500", ["2,000"])
            r["id"] = qid
            rows.append(r)
        return _result(rows)

    before, after = run({"a", "b"}), run({"b", "c"}, all_ids=("a", "b", "c", "d"))
    diff = compare_results(before, after)
    assert [f.id for f in diff.fixed] == ["c"] and [f.id for f in diff.broken] == ["a"]
    assert diff.fixed[0].answer_before == "500" and diff.fixed[0].answer_after == "2,000"
    assert (diff.only_in_a, diff.only_in_b) == (0, 1)
    by_name = {n: (a, b, d) for n, a, b, d in diff.metrics}
    assert by_name["answerable_accuracy"][0] == pytest.approx(2 / 3)
    assert by_name["answerable_accuracy"][1] == pytest.approx(2 / 4)
    assert by_name["answerable_accuracy"][2] == pytest.approx(2 / 4 - 2 / 3)
    assert by_name["questions"] == (3, 4, 1)
    assert compare_results(before, before).fixed == [] and compare_results(before, before).broken == []


def test_compare_retrieval_only_with_answers_skips_what_one_side_cannot_judge():
    from rag.evaluation.compare import compare_results

    retrieval = _result([_retrieval_row([], [("x", "a")])])
    answered = _result([_row("Paris.", [])])
    retrieval["rows"][0]["id"] = answered["rows"][0]["id"] = "u"
    diff = compare_results(retrieval, answered)
    assert diff.fixed == [] and diff.broken == []
    assert {n: d for n, _a, _b, d in diff.metrics}["accuracy"] is None  # only in B


def test_load_result_errors(tmp_path):
    from rag.evaluation.compare import load_result

    with pytest.raises(RagError, match="not found"):
        load_result(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RagError, match="not a JSON file"):
        load_result(bad)
    bad.write_text('{"metrics": {}}', encoding="utf-8")
    with pytest.raises(RagError, match="rag eval --json"):
        load_result(bad)


# -- the run loop ----------------------------------------------------------------------------------------


class _InterruptedAssistant:
    """Answers from a script, then behaves like a user pressing Ctrl-C."""

    def __init__(self, real, stop_after: int):
        self.real, self.stop_after, self.asked = real, stop_after, 0

    def ask(self, *args, **kwargs):
        self.asked += 1
        if self.asked > self.stop_after:
            raise KeyboardInterrupt
        return self.real.ask(*args, **kwargs)


def test_ctrl_c_keeps_the_figures_of_questions_done(seed_assistant):
    from rag.evaluation import run_eval

    items = load_gold(GOLD / "seed.jsonl")[:5]
    metrics, rows, interrupted = run_eval(_InterruptedAssistant(seed_assistant, 2), items, mode="extractive")
    assert interrupted
    assert [r["id"] for r in rows] == [items[0].id, items[1].id]
    assert metrics["questions"] == 2


def test_runs_are_repeatable(seed_assistant):
    from rag.evaluation import run_eval

    items = load_gold(GOLD / "seed.jsonl")
    keep = ("answer", "abstained", "citations", "retrieved", "correct", "hit_rank")
    first = run_eval(seed_assistant, items, mode="extractive")[1]
    second = run_eval(seed_assistant, items, mode="extractive")[1]
    assert [{k: r[k] for k in keep} for r in first] == [{k: r[k] for k in keep} for r in second]


def test_retrieval_only_run_uses_no_llm_and_follows_the_conversation(assistant, fake_llm):
    from rag.evaluation import run_eval

    items = [i for i in load_gold(GOLD / "seed.jsonl") if i.history][:3]
    assert items, "the seed gold set has follow-ups"
    metrics, rows, _ = run_eval(assistant, items, retrieval_only=True, k=5)
    assert not fake_llm.calls
    assert all(r["answer"] is None and len(r["retrieved"]) == 5 for r in rows)
    assert metrics["recall@5"] == 1.0  # follow-ups retrieved with their history find the evidence
    assert all(isinstance(r["retrieved"][0]["score"], float) and r["retrieved"][0]["chunk_id"] for r in rows)

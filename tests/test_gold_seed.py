"""The product's acceptance bars on the seed gold set, with the real shipped models."""

from __future__ import annotations

import pytest
from conftest import GOLD

from rag.evaluation import load_gold, run_eval


def test_gold_set_shape():
    items = load_gold(GOLD / "seed.jsonl")
    assert len(items) >= 40
    assert sum(not i.answerable for i in items) >= 8
    assert sum(bool(i.history) for i in items) >= 6
    assert sum(bool(i.history) and not i.answerable for i in items) >= 1


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 12 is open: the fitted reader reaches answerable accuracy 0.81 and "
                   "abstains on 0.21 of the unanswerable seed questions, below these bars (README, Results)")
def test_seed_gold_meets_the_acceptance_bars(real_assistant):
    items = load_gold(GOLD / "seed.jsonl")
    metrics, rows, interrupted = run_eval(real_assistant, items, mode="auto", k=5)
    assert not interrupted and len(rows) == len(items)
    failures = [f"{r['id']}: {r['question']} -> {r['answer'][:120]}" for r in rows if not r["correct"]]
    summary = {k: v for k, v in metrics.items() if not k.startswith("latency")}
    detail = f"{summary}\nwrong:\n" + "\n".join(failures)
    assert metrics["answerable_accuracy"] >= 0.85, detail
    assert metrics["abstention_recall"] >= 0.8, detail
    assert metrics["citation_precision"] >= 0.9, detail
    assert any(r["mode"] == "generative" for r in rows), "auto mode never used the model"
    assert metrics["unsupported_share"] == 0.0, detail

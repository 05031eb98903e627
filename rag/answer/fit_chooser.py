"""Fit when to trust a model's pick among the reader's short answers:
``python -m rag.answer.fit_chooser --model PATH --cache ITEMS [GOLD=INDEX …]``.

The model (`rag.answer.choose`) is shown the reader's best short answers for
every factoid gold question (out of fold, exactly as `rag.answer.fit` reads
them) and made to pick one by grammar. A logistic regression over the
reader's confidence features of its pick, whether it agrees with the reader's
own best, and how the reader ranked its pick estimates the chance the pick is
right; the threshold maximises truthfulness on the other folds, and every
fold's figures are printed. The result is stored in ``weights.json`` under
``choosers`` keyed by the model file's name: auto mode lets a model choose only
when such an entry shows that its picks beat the reader's (cross-validated).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import fit as F
from .choose import CHOOSER_FEATURES, choice_messages, chooser_row
from .collect import holds_answer, span_matches
from .fit_model import model_fit_inputs, oof_reading, report_entry
from .learners import fit_logistic, steady_threshold
from .score import WEIGHTS_FILE


def collect(items, state, llm) -> list[dict]:
    """One row per factoid question with two or more short answers: the model's pick among the
    reader's best (out of fold), its chooser features, and whether it was right."""
    rows = []
    for n, it in enumerate(items):
        reading = oof_reading(it, state) if it.factoid else None
        if reading is None or len(reading.alternatives) < 2:
            continue
        alts = reading.alternatives
        q, _, _, arts, _ = it.read
        texts = list(dict.fromkeys(a.text for a in alts))
        picked = llm.choose(choice_messages(q.text, alts, arts), texts)
        if picked is None:
            continue
        rank = next(k for k, a in enumerate(alts) if a.text == texts[picked])
        choice = alts[rank]
        short_right = span_matches(choice.text, it.answers)
        right = bool(it.answers) and (short_right or holds_answer(choice.candidate.with_context, it.answers))
        x = chooser_row(reading.rows[rank], agrees=rank == 0, probability=choice.probability, rank=rank)
        rows.append({"id": it.id, "fold": it.fold, "x": x.tolist(), "right": right, "short_right": short_right,
                     "reader_right": bool(state["labels"].get(it.id))})
        if n % 25 == 0:
            print(f"  {len(rows)} picks", file=sys.stderr, flush=True)
    return rows


def fit(rows: list[dict]) -> dict:
    folds = sorted({r["fold"] for r in rows})
    x = np.array([r["x"] for r in rows], dtype=np.float64)
    y = np.array([r["right"] for r in rows])
    report = []
    conf = np.zeros(len(rows))
    thresholds = {}
    for f in folds:
        train = np.array([r["fold"] != f for r in rows])
        m = fit_logistic(x[train], y[train], CHOOSER_FEATURES)
        thresholds[f] = steady_threshold(m.probabilities(x[train]), np.where(y[train], 1.0, -1.0))
        conf[~train] = m.probabilities(x[~train])
    for f in [*folds, None]:
        sel = [i for i, r in enumerate(rows) if f is None or r["fold"] == f]
        answered = [i for i in sel if conf[i] >= thresholds[rows[i]["fold"]]]
        right = sum(y[i] for i in answered)
        report.append({
            "fold": "all" if f is None else f, "factoid_questions": len(sel),
            "pick_right": round(float(np.mean([y[i] for i in sel])), 3) if sel else None,
            "reader_right": round(float(np.mean([rows[i]["reader_right"] for i in sel])), 3) if sel else None,
            "answered": len(answered), "truthfulness": round((2 * right - len(answered)) / len(sel), 3) if sel else None,
        })
    model = fit_logistic(x, y, CHOOSER_FEATURES)
    threshold = steady_threshold(model.probabilities(x), np.where(y, 1.0, -1.0))
    overall = report[-1]
    return {"confidence": model.to_dict(), "threshold": round(threshold, 4), "folds": report,
            "better_than_reader": bool(overall["pick_right"] is not None and overall["pick_right"] > overall["reader_right"])}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rag.answer.fit_chooser", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the GGUF model whose picks to calibrate")
    ap.add_argument("--cache", required=True, help="the items file `rag.answer.fit --cache` wrote")
    ap.add_argument("--out", default=str(WEIGHTS_FILE))
    args = ap.parse_args(argv)
    items, state, llm = model_fit_inputs(args.cache, args.model)
    # Only questions asked of their own corpus: the made-up unanswerable variants have no pick to judge.
    entry = fit(collect([it for it in items if F._natural(it)], state, llm))
    report_entry(args.out, "choosers", llm.name, entry, "picks better than the reader")


if __name__ == "__main__":
    main()

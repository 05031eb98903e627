"""Fit when to trust a model's extracted answers: ``python -m rag.answer.fit_extractor --model PATH --cache ITEMS``.

Every gold question (and every made-up unanswerable one: its answer's articles
hidden, or asked of an unrelated index) is read out of fold exactly as
`rag.answer.fit` reads it, and the model is shown the reader's best sentences
and asked for the answer's words (`rag.answer.extract`); its replies are kept
in ``--replies`` so that a refit asks nothing twice. Then, fold by fold (whole
weeks of the question's date):

- a logistic regression over `EXTRACTOR_FEATURES` estimates the chance that a
  located answer is right (its quoted sentence or its short answer holds a gold
  answer), each gold set and each made-up kind weighing the same;
- two thresholds are chosen together on the other folds' real questions, to
  maximise truthfulness ((right − wrong) / questions): the model's answer is
  given above the first; otherwise the reader's own, above the second;
  otherwise the assistant abstains.

Every fold's figures are printed beside the reader's alone (its own
out-of-fold thresholds). The entry is written to ``weights.json`` under
``extractors``, keyed by the model file's name; auto mode uses it only where
the model's policy was the more truthful out of fold (``better_than_reader``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from . import fit as F
from .collect import holds_answer, span_matches
from .extract import EVIDENCE, EXTRACTOR_FEATURES, MAX_TOKENS, extraction_messages, extractor_row, found
from .fit_model import model_fit_inputs, oof_reading, report_entry
from .learners import best_threshold, fit_logistic
from .reader import Reading
from .score import WEIGHTS_FILE


def _key(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def ask(items, state, llm, replies_file: Path | None, at_most: int | None = None) -> dict[str, tuple[Reading, str]]:
    """Each readable item's out-of-fold reading and the model's reply to it (from the file when
    asked before). With ``at_most``, no more than that many new questions are put to the model,
    in an order fixed by a hash of their ids, so that a run cut short still asks an even mix of
    gold sets and kinds; the items left unasked are left out."""
    known: dict[str, str] = {}
    if replies_file and replies_file.exists():
        for line in replies_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            known[row["key"]] = row["reply"]
    out = {}
    new = 0
    sink = replies_file.open("a", encoding="utf-8") if replies_file else None
    try:
        for n, it in enumerate(sorted(items, key=lambda it: hashlib.sha256(it.id.encode("utf-8")).digest())):
            reading = oof_reading(it, state)
            if reading is None or not reading.ranked:
                continue
            q, _, _, articles, _ = it.read
            messages = extraction_messages(q.text, reading.ranked[:EVIDENCE], articles)
            key = _key(messages)
            if key not in known:
                if at_most is not None and new >= at_most:
                    continue
                new += 1
                known[key] = "".join(llm.stream_chat(messages, max_tokens=MAX_TOKENS, temperature=0.0))
                if sink:
                    sink.write(json.dumps({"key": key, "id": it.id, "reply": known[key]}) + "\n")
                    sink.flush()
            out[it.id] = (reading, known[key])
            if n % 25 == 0:
                print(f"  {n} of {len(items)} asked", file=sys.stderr, flush=True)
    finally:
        if sink:
            sink.close()
    return out


def _rows(items, state, asked):
    """Per readable item: (features or None, model answer right, reader answer right, reader confidence)."""
    rows = {}
    for it in items:
        if it.id not in asked:
            continue
        reading, reply = asked[it.id]
        ex = found(reply, reading)
        x = right = None
        if ex.short is not None:
            q = it.read[0]
            x = extractor_row(q, reading, ex)
            quoted = ex.short.candidate.with_context
            right = bool(it.answers) and (span_matches(ex.short.text, it.answers) or holds_answer(quoted, it.answers))
        rows[it.id] = (x, right, bool(state["labels"].get(it.id)) and bool(it.answers), state["confidence"][it.id])
    return rows


def _policy_thresholds(trust: np.ndarray, located: np.ndarray, model_gain: np.ndarray, conf: np.ndarray,
                       reader_gain: np.ndarray) -> tuple[float, float]:
    """(model threshold, reader threshold) maximising the summed gain: the model answers where
    located and trusted, the reader where it does not and the reader is confident enough. Of
    equal sums the higher model threshold wins: as truthful, with fewer wrong answers."""
    best = (-np.inf, np.inf, np.inf)
    candidates = np.unique(np.concatenate([trust[located], [np.inf]]))[::-1]
    for t_m in candidates:
        by_model = located & (trust >= t_m)
        rest = ~by_model
        t_r = best_threshold(conf[rest], reader_gain[rest]) if rest.any() else np.inf
        total = model_gain[by_model].sum() + reader_gain[rest & (conf >= t_r)].sum()
        if total > best[0]:
            best = (total, float(t_m), float(t_r))
    return best[1], best[2]


def fit(items, state, asked) -> dict:
    rows = _rows(items, state, asked)
    ids = [it.id for it in items if it.id in rows]
    by_id = {it.id: it for it in items}
    located = np.array([rows[i][0] is not None for i in ids])
    x = np.stack([rows[i][0] if rows[i][0] is not None else np.zeros(len(EXTRACTOR_FEATURES), np.float32) for i in ids])
    y = np.array([bool(rows[i][1]) for i in ids])
    reader_right = np.array([rows[i][2] for i in ids])
    conf = np.array([rows[i][3] for i in ids])
    natural = np.array([F._natural(by_id[i]) for i in ids])
    answerable = np.array([bool(by_id[i].answers) for i in ids])
    folds = np.array([by_id[i].fold for i in ids])
    weight = F._balanced([by_id[i] for i in ids])

    def fitted(sel: np.ndarray):
        train = sel & located
        m = fit_logistic(x[train], y[train], EXTRACTOR_FEATURES, weight[train] * train.sum() / weight[train].sum())
        nat = sel & natural
        t_m, t_r = _policy_thresholds(m.probabilities(x[nat]), located[nat], np.where(y[nat], 1.0, -1.0), conf[nat],
                                      np.where(reader_right[nat], 1.0, -1.0))
        return m, t_m, t_r

    by_model = np.zeros(len(ids), bool)
    by_reader = np.zeros(len(ids), bool)
    reader_alone = np.zeros(len(ids), bool)
    for f in sorted(set(folds.tolist())):
        m, t_m, t_r = fitted(folds != f)
        test = folds == f
        trust = m.probabilities(x[test])
        by_model[test] = located[test] & (trust >= t_m)
        by_reader[test] = ~by_model[test] & (conf[test] >= t_r)
        reader_alone[test] = conf[test] >= state["thresholds"][f][0]
    report = []
    for f in [*sorted(set(folds.tolist())), None]:
        sel = natural & ((folds == f) if f is not None else True)
        n = int(sel.sum())
        right = (by_model & y | by_reader & reader_right)[sel].sum()
        wrong = ((by_model | by_reader) & sel).sum() - right
        abstained_ok = (sel & ~answerable & ~by_model & ~by_reader).sum()
        r_right = (reader_alone & reader_right)[sel].sum()
        r_wrong = (reader_alone & sel).sum() - r_right
        r_abstained_ok = (sel & ~answerable & ~reader_alone).sum()
        report.append({
            "fold": "all" if f is None else int(f), "questions": n,
            "model_answered": int((by_model & sel).sum()), "reader_answered": int((by_reader & sel).sum()),
            "accuracy": round(float(right + abstained_ok) / n, 3), "truthfulness": round(float(right - wrong) / n, 3),
            "reader_alone_accuracy": round(float(r_right + r_abstained_ok) / n, 3),
            "reader_alone_truthfulness": round(float(r_right - r_wrong) / n, 3),
            "model_located_right": round(float((located & y)[sel].sum()) / n, 3),
        })
    model, t_m, t_r = fitted(np.ones(len(ids), bool))
    overall = report[-1]
    return {"confidence": model.to_dict(), "threshold": round(t_m, 4), "reader_threshold": round(t_r, 4),
            "evidence": EVIDENCE, "folds": report,
            "better_than_reader": overall["truthfulness"] > overall["reader_alone_truthfulness"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rag.answer.fit_extractor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the GGUF model whose answers to calibrate")
    ap.add_argument("--cache", required=True, help="the items file `rag.answer.fit --cache` wrote")
    ap.add_argument("--replies", default=None, help="a JSON Lines file keeping the model's replies, to refit without asking again")
    ap.add_argument("--elsewhere-every", type=int, default=3, metavar="N",
                    help="ask only every Nth question asked of an unrelated index (they are many, and alike)")
    ap.add_argument("--ask-at-most", type=int, default=None, metavar="N",
                    help="put at most N new questions to the model (~10 s each for a 1.5B model on 2 cores); "
                    "the fit then uses the questions answered so far")
    ap.add_argument("--out", default=str(WEIGHTS_FILE))
    args = ap.parse_args(argv)
    items, state, llm = model_fit_inputs(args.cache, args.model)
    elsewhere = [it for it in items if "#elsewhere" in it.id]
    keep = {it.id for it in elsewhere[:: max(1, args.elsewhere_every)]}
    items = [it for it in items if "#elsewhere" not in it.id or it.id in keep]
    asked = ask(items, state, llm, Path(args.replies) if args.replies else None, args.ask_at_most)
    items = [it for it in items if it.id in asked]
    entry = fit(items, state, asked)
    report_entry(args.out, "extractors", llm.name, entry, "more truthful than the reader alone")


if __name__ == "__main__":
    main()

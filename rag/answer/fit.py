"""Fit the reader's weights on gold sets: ``python -m rag.answer.fit GOLD=INDEX [GOLD=INDEX …] [--elsewhere GOLD=INDEX]``.

Every question is planned and read exactly as answering does (`rag.answer.query`,
`rag.answer.reader`), with its gold ``date`` as ``as_of``. Three models are
fitted in turn, each on the previous one's out-of-fold output:

1. the sentence model: does this sentence hold a gold answer? Small
   gradient-boosted trees (LightGBM, ``rag.answer.learners.TREES``), because what a feature is
   worth depends on the others (a close embedding match means little when the
   question's names are missing): out of fold they beat the logistic regression
   in every week's fold;
2. the span model (factoid questions), a conditional logit: is this span the gold answer? Its
   ``label_prior`` feature is a table of how often answers to each question
   class carry each entity label, counted on the training folds only;
3. the confidence model, a logistic regression: is the answer the assistant would give right?
   (a wrong answer and an answer to an unanswerable question count alike).

The confidence model also sees made-up unanswerable questions: every third
dated question again with the articles holding its answer hidden
(``--withhold-every``), and with ``--elsewhere GOLD=INDEX`` a gold set's
questions asked of an unrelated index. Each gold set and each made-up kind
weighs the same in its fit (``_balanced``).

Folds are whole weeks of the gold ``date`` (undated questions are spread over
the folds), and every figure printed is out-of-fold. The answer threshold is
the confidence that maximised truthfulness ((right − wrong) / questions) on
the other folds; the short-answer threshold maximised short answers right
minus wrong. The final models are fitted on everything and written with the
per-fold figures to ``--out`` (default: the shipped ``weights.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from .collect import Item, collect, holds_answer, placeholder_weights, span_matches, week_folds
from .confidence import CONFIDENCE_FEATURES, decide, missing_names
from .features import SENTENCE_FEATURES, SPAN_FEATURES, span_features, span_groups
from .kinds import repeats_question
from .learners import C, fit_conditional_logit, fit_logistic, fit_trees, steady_threshold
from .reader import SPAN_SENTENCES
from .score import WEIGHTS_FILE, LinearModel, Weights


def _natural(item: Item) -> bool:
    """A gold question as asked of its own corpus: thresholds are chosen and figures reported on
    these; the made-up unanswerable variants (withheld, elsewhere) only train the models."""
    return "#" not in item.id


def _balanced(items: list[Item]) -> np.ndarray:
    """Sample weights giving each gold set, and each made-up variant of it, the same total
    weight: a corpus with many questions (or many invented negatives) must not decide alone
    what a confident answer looks like."""
    group = [(it.source, it.id.partition("#")[2]) for it in items]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for g in group:
        counts[g] += 1
    w = np.array([1.0 / counts[g] for g in group])
    return w * len(w) / w.sum()


def _label_table(rows: list[tuple[str, str, bool]]) -> dict[str, dict[str, float]]:
    """answer class -> label -> log-odds of a span with that label being the answer.

    Each label's rate is shrunk toward its class's overall rate by one pseudo-span (an
    m-estimate), not toward even odds: a label seen on four wrong spans must not look likelier
    than one seen right 30 times in 500 (add-one-half smoothing made QUANTITY, never right,
    likelier than PERSON for "who" questions)."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cls, label, hit in rows:
        for c in (cls, "other"):
            counts[c][label][0] += hit
            counts[c][label][1] += 1
    table = {}
    for cls, labels in counts.items():
        hits, total = sum(h for h, _ in labels.values()), sum(n for _, n in labels.values())
        base = (hits + 0.5) / (total + 1)
        table[cls] = {lab: math.log((h + base) / (n - h + 1 - base)) for lab, (h, n) in labels.items()}
        # A label never seen among this class's candidates gets no benefit of the doubt.
        table[cls]["*"] = min(table[cls].values())
    return table


_SPAN_CACHE: dict[tuple[str, int], tuple] = {}


def _span_rows(item: Item, logits: np.ndarray, prior: Weights):
    """(groups, features, labels) of an item's spans; only the label prior column depends on
    ``prior``, so the rest is computed once per item and these logits."""
    key = (item.id, hash(logits.tobytes()))
    if key not in _SPAN_CACHE:
        q, cands, spans, articles, focus = item.read
        top = set(np.argsort(-logits, kind="stable")[:SPAN_SENTENCES].tolist())
        chosen = [s for s in spans if s.sentence in top]
        groups = [g for g in span_groups(chosen, logits) if not repeats_question(q, g.best.text)]
        x = span_features(q, groups, cands, logits, lambda c, label: 0.0,
                          lambda texts: np.array([focus.get(t, 0.0) for t in texts]), articles)
        y = np.array([span_matches(g.best.text, item.answers) for g in groups], dtype=bool)
        _SPAN_CACHE[key] = (groups, x, y)
    groups, x, y = _SPAN_CACHE[key]
    x = x.copy()
    if len(x):
        x[:, SPAN_FEATURES.index("label_prior")] = [prior.prior(item.answer_class, g.label) for g in groups]
    return groups, x, y


def _decide(item: Item, s_logits: np.ndarray, span_model: LinearModel | None, prior: Weights):
    """(confidence row, answer-text-if-short-shown, answer-text-without-short, short right?, short prob)."""
    q, cands, _, articles, _ = item.read
    groups, xs, ys = _span_rows(item, s_logits, prior) if item.factoid else ([], np.zeros((0, 0)), np.zeros(0))
    if span_model is None or not len(groups):
        groups, xs, ys = [], np.zeros((0, 0)), np.zeros(0)
    sp = span_model.probabilities(xs) if len(groups) else np.zeros(0)
    d = decide(q, item.x, s_logits, xs, sp, [g.best.sentence for g in groups], missing_names(q, cands, articles))
    if d.pick is None:
        return d.rows[0], item.texts[d.lead], None, False, 0.0
    return d.rows[d.pick], item.texts[d.lead], groups[d.pick].best.text, bool(ys[d.pick]), float(sp[d.pick])


def run(items: list[Item]) -> tuple[dict, list[dict]]:
    folds = sorted({it.fold for it in items})
    # 1. sentence model, out of fold
    s_oof: dict[str, np.ndarray] = {}
    for f in folds:
        train = [it for it in items if it.fold != f and len(it.y)]
        m = fit_trees(np.concatenate([it.x for it in train]), np.concatenate([it.y for it in train]), SENTENCE_FEATURES)
        for it in items:
            if it.fold == f and len(it.y):
                s_oof[it.id] = m.logits(it.x)
    readable = [it for it in items if it.id in s_oof]
    # 2. span model, out of fold, its label table from the training folds
    priors, span_models = {}, {}
    for f in folds:
        train = [it for it in readable if it.fold != f and it.factoid]
        table_rows = []
        placeholder = placeholder_weights()
        for it in train:
            groups, _, ys = _span_rows(it, s_oof[it.id], placeholder)
            table_rows += [(it.answer_class, g.label, bool(h)) for g, h in zip(groups, ys)]
        prior = Weights(*[getattr(placeholder, n) for n in ("sentence", "span", "confidence")], _label_table(table_rows), 0.5, 0.5, {}, {})
        rows = []
        for it in train:
            _, x, y = _span_rows(it, s_oof[it.id], prior)
            if len(y):
                rows.append((x, y))
        priors[f] = prior
        span_models[f] = fit_conditional_logit(rows, SPAN_FEATURES)
    # 3. confidence rows, labels, out of fold
    decided = {it.id: _decide(it, s_oof[it.id], span_models[it.fold], priors[it.fold]) for it in readable}
    labels_sentence, short_gain = {}, {}
    for it in readable:
        _, text, short, short_ok, _ = decided[it.id]
        labels_sentence[it.id] = holds_answer(text, it.answers) or (short is not None and short_ok)
        short_gain[it.id] = 1.0 if short_ok else -1.0
    conf_oof: dict[str, float] = {}
    thresholds: dict[int, tuple[float, float]] = {}
    for f in folds:
        train = [it for it in readable if it.fold != f]
        m = fit_logistic(np.stack([decided[it.id][0] for it in train]), np.array([labels_sentence[it.id] for it in train]),
                         CONFIDENCE_FEATURES, _balanced(train))
        # The threshold is set on the questions as asked: the made-up unanswerable ones teach the
        # model what a missing answer looks like, but would overstate how often one is missing.
        natural = [it for it in train if _natural(it)]
        c_train = m.probabilities(np.stack([decided[it.id][0] for it in natural]))
        gain = np.array([1.0 if labels_sentence[it.id] else -1.0 for it in natural])
        t_answer = steady_threshold(c_train, gain)
        shorts = [it for it in train if decided[it.id][2] is not None]
        t_short = steady_threshold(np.array([decided[it.id][4] for it in shorts]), np.array([short_gain[it.id] for it in shorts])) if shorts else 1.0
        thresholds[f] = (t_answer, t_short)
        for it in readable:
            if it.fold == f:
                conf_oof[it.id] = float(m.probabilities(decided[it.id][0][None, :])[0])
    report = []
    for f in folds + [None]:
        chosen = [it for it in items if (f is None or it.fold == f) and _natural(it)]
        made_up = {v: [it for it in items if (f is None or it.fold == f) and it.id.endswith(f"#{v}")]
                   for v in ("withheld", "blanked", "elsewhere")}
        right = wrong = short_right = short_wrong = answered = 0
        for it in chosen:
            if it.id not in conf_oof:
                continue
            t_answer, t_short = thresholds[it.fold]
            if conf_oof[it.id] < t_answer:
                continue
            answered += 1
            ok = labels_sentence[it.id] if it.answers else False
            right += ok
            wrong += not ok
            _, _, short, short_ok, short_p = decided[it.id]
            if short is not None and short_p >= t_short:
                short_right += short_ok
                short_wrong += not short_ok

        def abstained(it: Item) -> bool:
            return it.id not in conf_oof or conf_oof[it.id] < thresholds[it.fold][0]

        unanswerable_abstained = sum(1 for it in chosen if not it.answers and abstained(it))
        n = len(chosen)
        report.append({
            "fold": "all" if f is None else f, "questions": n, "answered": answered,
            "accuracy": round((right + unanswerable_abstained) / n, 3) if n else None,
            "truthfulness": round((right - wrong) / n, 3) if n else None,
            "short_shown": short_right + short_wrong, "short_precision": round(short_right / max(1, short_right + short_wrong), 3),
        })
        for v, made in made_up.items():  # how often each kind of made-up unanswerable question is abstained
            if made:
                report[-1] |= {v: len(made), f"{v}_abstained": round(sum(abstained(it) for it in made) / len(made), 3)}
    state = {"s_oof": s_oof, "decided": decided, "labels": labels_sentence, "short_gain": short_gain, "readable": readable,
             "span_models": span_models, "priors": priors, "thresholds": thresholds, "confidence": conf_oof}
    return state, report


def fit_all(items: list[Item]) -> Weights:
    state, report = run(items)
    readable = state["readable"]
    sentence = fit_trees(np.concatenate([it.x for it in readable]), np.concatenate([it.y for it in readable]), SENTENCE_FEATURES)
    placeholder = placeholder_weights()
    table_rows, xs = [], []
    for it in readable:
        if it.factoid:
            groups, _, y = _span_rows(it, state["s_oof"][it.id], placeholder)
            table_rows += [(it.answer_class, g.label, bool(h)) for g, h in zip(groups, y)]
    prior = Weights(placeholder.sentence, placeholder.span, placeholder.confidence, _label_table(table_rows), 0.5, 0.5, {}, {})
    for it in readable:
        if it.factoid:
            _, x, y = _span_rows(it, state["s_oof"][it.id], prior)
            if len(y):
                xs.append((x, y))
    span = fit_conditional_logit(xs, SPAN_FEATURES)
    decided = {it.id: _decide(it, state["s_oof"][it.id], span, prior) for it in readable}
    conf_x = np.stack([decided[it.id][0] for it in readable])
    labels = np.array([holds_answer(decided[it.id][1], it.answers) or (decided[it.id][2] is not None and decided[it.id][3]) for it in readable])
    confidence = fit_logistic(conf_x, labels, CONFIDENCE_FEATURES, _balanced(readable))
    natural = np.array([_natural(it) for it in readable])
    gain = np.where(labels, 1.0, -1.0)
    t_answer = steady_threshold(confidence.probabilities(conf_x)[natural], gain[natural])
    shorts = [it for it in readable if decided[it.id][2] is not None]
    t_short = steady_threshold(np.array([decided[it.id][4] for it in shorts]), np.array([1.0 if decided[it.id][3] else -1.0 for it in shorts]))
    info = {"fitted": date.today().isoformat(), "questions": len(items), "folds": report, "C": C}
    return Weights(sentence, span, confidence, prior.label_prior, t_answer, t_short, info, {})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rag.answer.fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", metavar="GOLD=INDEX", help="a gold file and the index its questions are asked of")
    ap.add_argument("--out", default=str(WEIGHTS_FILE), help="where to write the weights (default: the shipped file)")
    ap.add_argument("--cache", default=None, help="a file keeping what was read, to refit without reading again")
    ap.add_argument("--elsewhere", action="append", default=[], metavar="GOLD=INDEX",
                    help="also read GOLD's questions of an index about other things, as unanswerable (repeatable)")
    ap.add_argument("--withhold-every", type=int, default=3, metavar="N",
                    help="also read every Nth dated question with its answer's articles hidden, as unanswerable (0: none)")
    ap.add_argument("--blank-every", type=int, default=0, metavar="N",
                    help="also read every Nth dated question with only its answer's sentences blanked out (0: none)")
    args = ap.parse_args(argv)
    from ..embedder import SentenceTransformerEmbedder
    from ..evaluation.gold import load_gold

    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        items = pickle.loads(cache.read_bytes())
    else:
        embedder = SentenceTransformerEmbedder()
        items = []
        for spec in args.sets:
            gold, _, index_dir = spec.partition("=")
            fold_of = week_folds([g.date for g in load_gold(gold)])
            items += collect(gold, index_dir, embedder, fold_of, args.withhold_every, blank_every=args.blank_every)
        for spec in args.elsewhere:
            gold, _, index_dir = spec.partition("=")
            fold_of = week_folds([g.date for g in load_gold(gold)])
            items += collect(gold, index_dir, embedder, fold_of, elsewhere=True)
        if cache:
            cache.write_bytes(pickle.dumps(items))
    weights = fit_all(items)
    out = {"sentence": weights.sentence.to_dict(), "span": weights.span.to_dict(), "confidence": weights.confidence.to_dict(),
           "label_prior": {c: {k: round(v, 4) for k, v in t.items()} for c, t in weights.label_prior.items()},
           "answer_threshold": round(weights.answer_threshold, 4), "short_threshold": round(weights.short_threshold, 4),
           "info": weights.info}
    previous = Path(args.out)
    if previous.exists():  # a refit keeps the models' entries fitted before (they are refitted separately)
        kept = json.loads(previous.read_text(encoding="utf-8"))
        out["choosers"] = kept.get("choosers", {})
        out["extractors"] = kept.get("extractors", {})
    previous.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for row in weights.info["folds"]:
        print(json.dumps(row))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

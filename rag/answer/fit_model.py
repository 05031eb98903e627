"""What fitting a model's entry shares: the reader's out-of-fold readings, and the entry's report.

`rag.answer.fit_chooser` and `rag.answer.fit_extractor` both calibrate when to trust
a model against the reader as `rag.answer.fit` cross-validates it: each question
is read by the reader fitted without its fold, so a model is never judged against
a reader that saw the question's answer.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

from . import fit as F
from .confidence import decide, missing_names
from .reader import Reading, assemble
from .score import save_model_entry

__all__ = ["model_fit_inputs", "oof_reading", "report_entry"]


def model_fit_inputs(cache: str, model: str):
    """(the cached items, the reader's out-of-fold state on them, the loaded model): what fitting
    a model's trust starts from."""
    from ..llm import LlamaCppLLM

    items = pickle.loads(Path(cache).read_bytes())
    state, _ = F.run(items)
    return items, state, LlamaCppLLM(model)


def oof_reading(item, state) -> Reading | None:
    """The reading an item gets from the reader fitted without its fold (None: nothing to read)."""
    if item.id not in state["s_oof"]:
        return None
    q, cands, _, articles, _ = item.read
    logits = state["s_oof"][item.id]
    prior = state["priors"][item.fold]
    groups, xs, _ = F._span_rows(item, logits, prior) if item.factoid else ([], np.zeros((0, 0)), np.zeros(0))
    probs = state["span_models"][item.fold].probabilities(xs) if len(groups) else np.zeros(0)
    missing = missing_names(q, cands, articles)
    d = decide(q, item.x, logits, xs, probs, [g.best.sentence for g in groups], missing)
    return assemble(q, cands, logits, groups, probs, d, state["confidence"][item.id], missing, 1.0)


def report_entry(out: str, section: str, name: str, entry: dict, verdict: str) -> None:
    """Write a model's fitted entry into the weights file and print its folds and verdict."""
    save_model_entry(out, section, name, entry)
    for row in entry["folds"]:
        print(json.dumps(row))
    print(f"{name}: {verdict}: {entry['better_than_reader']}; wrote {out}", file=sys.stderr)

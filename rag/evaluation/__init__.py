"""Evaluate the assistant against a gold Q&A set: parsing, metrics and the run loop."""

from __future__ import annotations

from .gold import GoldError, GoldItem, load_gold
from .metrics import compute_metrics, score_row
from .runner import EvalRow, eval_result, run_eval

__all__ = ["GoldError", "GoldItem", "load_gold", "compute_metrics", "score_row", "EvalRow", "run_eval", "eval_result"]

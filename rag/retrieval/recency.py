"""Dates in ranking: which articles a question asked on a day may use, and how much newer ones count.

A question is asked on a day (``as_of``): articles published after it are not
used (a `rag.store.Where` the store applies inside its search), and among the rest
a newer article ranks a little higher, because news about the same thing is
updated. The boost is ``-log(1 + age / HALF_LIFE_DAYS)`` times a weight the
retrieval fit measured (see `rag.answer.fit` and the README); undated articles
get the median boost, so dating some articles neither hides nor favours the others.
"""

from __future__ import annotations

import numpy as np

from ..store.base import UNDATED

__all__ = ["recency_prior", "day_numbers"]


def day_numbers(published: list[str | None]) -> np.ndarray:
    """Each article's publication day number, or `UNDATED`."""
    from ..dates import day_number

    return np.array([UNDATED if (d := day_number(p)) is None else d for p in published], dtype=np.int64)


def recency_prior(
    days: np.ndarray, as_of: int | None, half_life: float, window: tuple[int | None, int | None] | None = None
) -> np.ndarray | None:
    """``-log(1 + age / half_life)`` per article, age in days before ``as_of``, or, when the question
    names a ``window`` of days (first, last; either may be None), days outside it (0 inside);
    None without dates."""
    dated = days != UNDATED
    if as_of is None or not dated.any():
        return None
    if window is not None:
        first, last = window
        age = np.zeros(len(days), dtype=np.float64)
        if first is not None:
            age += np.maximum(0, first - days)
        if last is not None:
            age += np.maximum(0, days - last)
    else:
        age = np.maximum(0, as_of - days).astype(np.float64)
    prior = -np.log1p(age / half_life)
    prior[~dated] = float(np.median(prior[dated]))
    return prior

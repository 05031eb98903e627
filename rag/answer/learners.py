"""Learners: feature rows and labels in, a fitted model (`rag.answer.score`) or threshold out.

The reader's fitter (`rag.answer.fit`) and the fitters of a model's trust
(`rag.answer.fit_chooser`, `rag.answer.fit_extractor`) all fit with these, so a
model is fitted the same way wherever it is used: a logistic regression
(scikit-learn), a conditional logit over each question's candidates (scipy), or
gradient-boosted trees (LightGBM, written as ONNX for onnxruntime); and a
shipped threshold is the one that maximised right minus wrong (its median over resamples).
"""

from __future__ import annotations

import numpy as np

from .score import LinearModel, TreeModel

__all__ = ["C", "TREES", "best_threshold", "fit_conditional_logit", "fit_logistic", "fit_trees", "steady_threshold"]

C = 1.0
# The sentence model's trees: few, shallow and slowly learnt, so that a few hundred questions
# cannot be memorised (the same out-of-fold gain held from 100 trees of 4 leaves to 300 of 16).
TREES = {"n_estimators": 100, "num_leaves": 4, "learning_rate": 0.05, "min_child_samples": 40, "reg_lambda": 1.0}


def _standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and spread (1 where a column is constant, so it divides harmlessly)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_logistic(x: np.ndarray, y: np.ndarray, names, weight: np.ndarray | None = None) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardisation(x)
    if len(set(y.tolist())) < 2:
        return LinearModel(tuple(names), mean, scale, np.zeros(x.shape[1]), 10.0 if y.any() else -10.0)
    m = LogisticRegression(C=C, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    return LinearModel(tuple(names), mean, scale, m.coef_[0], float(m.intercept_[0]))


def fit_trees(x: np.ndarray, y: np.ndarray, names) -> LinearModel | TreeModel:
    """Gradient-boosted trees (LightGBM), converted to ONNX so that answering applies them with
    onnxruntime; the out-of-fold figures are computed through the same conversion."""
    if len(set(y.tolist())) < 2:
        return fit_logistic(x, y, names)
    import lightgbm as lgb
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    m = lgb.LGBMClassifier(**TREES, verbose=-1, deterministic=True, n_jobs=1).fit(x, y.astype(int))
    graph = convert_lightgbm(m.booster_, initial_types=[("x", FloatTensorType([None, x.shape[1]]))], zipmap=False,
                             target_opset=15)
    gain = m.booster_.feature_importance("gain")
    share = {n: round(float(g / max(gain.sum(), 1e-12)), 4) for n, g in zip(names, gain)}
    return TreeModel(tuple(names), graph.SerializeToString(), {"lightgbm": TREES, "gain_share": share})


def fit_conditional_logit(groups: list[tuple[np.ndarray, np.ndarray]], names, l2: float = 1.0) -> LinearModel:
    """A conditional logit: per question, softmax over its candidates, fitted to put the mass on
    the right ones (L2-penalised, standardised features, scipy's L-BFGS)."""
    from scipy.optimize import minimize

    x_all = np.concatenate([x for x, _ in groups])
    mean, scale = _standardisation(x_all)
    data = [((x - mean) / scale, y / y.sum()) for x, y in groups if y.any()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, target in data:
            z = x @ w
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            total -= float(target @ np.log(p + 1e-12))
            grad -= x.T @ (target - p)
        return total + l2 * float(w @ w) / 2, grad + l2 * w

    w = minimize(loss, np.zeros(x_all.shape[1]), jac=True, method="L-BFGS-B").x
    return LinearModel(tuple(names), mean, scale, w, 0.0, softmax=True)


RESAMPLES = 101  # bootstrap samples a threshold is the median over (odd: the median is one of them)


def best_threshold(conf: np.ndarray, gain: np.ndarray) -> float:
    """The threshold t maximising sum(gain[conf >= t]) (gain: +1 right, -1 wrong) on this sample."""
    conf, gain = np.asarray(conf, dtype=np.float64), np.asarray(gain, dtype=np.float64)
    if not len(conf):
        return 1.0
    order = np.argsort(-conf, kind="stable")
    total = np.cumsum(gain[order])
    if total.max() <= 0:
        return float(conf.max() + 1e-6)  # answering nothing is best: above every confidence
    return float(conf[order[int(np.argmax(total))]])


def steady_threshold(conf: np.ndarray, gain: np.ndarray) -> float:
    """`best_threshold` as the median of its maximiser over bootstrap resamples (seeded, so a
    refit is repeatable): the threshold a fitter ships.

    Near its top the gain curve is flat and ragged: the maximiser of one sample jumps between
    distant confidences of almost equal gain (two fits of nearly the same model gave answer
    thresholds of 0.29 and 0.42), and the shipped threshold decides every answer. The median
    over resamples stays where the curve is high for most samples. Out of fold (six week folds,
    the same items) it was 0.420 / 0.221 against 0.413 / 0.216 for the single maximiser. A search
    that must compare exact totals (`rag.answer.fit_extractor`'s two thresholds chosen together)
    uses `best_threshold` instead."""
    conf, gain = np.asarray(conf, dtype=np.float64), np.asarray(gain, dtype=np.float64)
    if not len(conf):
        return 1.0
    rng = np.random.default_rng(0)
    samples = (rng.integers(0, len(conf), len(conf)) for _ in range(RESAMPLES))
    return float(np.median([best_threshold(conf[i], gain[i]) for i in samples]))

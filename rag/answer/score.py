"""Score: the fitted models that turn features into logits and probabilities.

Parameters live in ``weights.json`` beside this file, written by
`rag.answer.fit` (which also records how they were fitted and their
cross-validated figures). Each model names its features, so a refit with other
features is detected rather than silently misapplied. Two kinds:

- `LinearModel`: a standardisation (mean, scale) and a logistic regression
  (coefficients, intercept), applied with numpy;
- `TreeModel`: gradient-boosted trees fitted by LightGBM and stored as an ONNX
  graph, applied by onnxruntime (which answering already loads for its
  embedder), so answering imports neither LightGBM nor scikit-learn.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from ..errors import RagError

__all__ = ["LinearModel", "TreeModel", "Weights", "load_weights", "model_from_dict", "WEIGHTS_FILE"]

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


@dataclass(frozen=True)
class LinearModel:
    """Standardised logistic regression over named features; with ``softmax``, a conditional
    logit: its probabilities are shared out among the rows scored together (one question's
    candidates), so they sum to one."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    softmax: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> LinearModel:
        return cls(
            tuple(d["features"]),
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            np.asarray(d["coef"], dtype=np.float64),
            float(d["intercept"]),
            bool(d.get("softmax", False)),
        )

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
            "softmax": self.softmax,
        }

    def logits(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.zeros(len(x))
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x)
        if self.softmax:
            if not len(z):
                return z
            e = np.exp(z - z.max())
            return e / e.sum()
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class TreeModel:
    """A binary classifier of gradient-boosted trees over named features (LightGBM, converted
    to ONNX by onnxmltools at fitting time). ``logits`` are the log-odds of its probability,
    so it stands wherever a non-softmax `LinearModel` does."""

    features: tuple[str, ...]
    onnx: bytes
    info: dict = field(default_factory=dict)  # how it was fitted, and each feature's share of the gain

    @classmethod
    def from_dict(cls, d: dict) -> TreeModel:
        return cls(tuple(d["features"]), base64.b64decode(d["onnx"]), d.get("info", {}))

    def to_dict(self) -> dict:
        return {"kind": "trees", "features": list(self.features), "info": self.info,
                "onnx": base64.b64encode(self.onnx).decode("ascii")}

    @cached_property
    def _session(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # a few hundred rows: threads cost more than they save
        opts.log_severity_level = 3  # the converter declares the label output's shape as (1,): a harmless warning per call
        return ort.InferenceSession(self.onnx, opts, providers=["CPUExecutionProvider"])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.zeros(len(x))
        s = self._session
        out = s.run(["probabilities"], {s.get_inputs()[0].name: np.asarray(x, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float64)[:, 1]

    def logits(self, x: np.ndarray) -> np.ndarray:
        p = np.clip(self.probabilities(x), 1e-7, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)


def model_from_dict(d: dict) -> LinearModel | TreeModel:
    return TreeModel.from_dict(d) if d.get("kind") == "trees" else LinearModel.from_dict(d)


@dataclass(frozen=True)
class Weights:
    """Everything the reader was fitted to: three models, a label table and the thresholds."""

    sentence: LinearModel | TreeModel
    span: LinearModel
    confidence: LinearModel
    label_prior: dict[str, dict[str, float]]  # answer class -> entity label -> log-odds
    answer_threshold: float  # answer when the estimated chance of being right reaches this
    short_threshold: float  # lead with the short answer when its own chance reaches this
    info: dict
    choosers: dict  # model file name -> fitted trust in its picks (see rag.answer.fit_chooser)
    extractors: dict = field(default_factory=dict)  # model file name -> fitted trust in its answers (rag.answer.fit_extractor)

    def prior(self, answer_class: str, label: str) -> float:
        table = self.label_prior.get(answer_class) or self.label_prior.get("other", {})
        return float(table.get(label, table.get("*", math.log(1e-3))))


def weights_from_dict(d: dict, features: dict[str, tuple[str, ...]]) -> Weights:
    models = {}
    for name in ("sentence", "span", "confidence"):
        m = model_from_dict(d[name])
        if name in features and m.features != features[name]:
            raise RagError(
                f"the reader's fitted {name} model has features {list(m.features)}, the code computes "
                f"{list(features[name])}; refit with: python -m rag.answer.fit"
            )
        models[name] = m
    return Weights(
        models["sentence"],
        models["span"],
        models["confidence"],
        d["label_prior"],
        float(d["answer_threshold"]),
        float(d["short_threshold"]),
        d.get("info", {}),
        d.get("choosers", {}),
        d.get("extractors", {}),
    )


@lru_cache(maxsize=4)
def load_weights(path: str | None = None) -> Weights:
    """The fitted weights (the shipped ones by default)."""
    from .confidence import CONFIDENCE_FEATURES
    from .features import SENTENCE_FEATURES, SPAN_FEATURES

    file = Path(path) if path else WEIGHTS_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"the reader's weights are missing ({file}); fit them with: python -m rag.answer.fit") from None
    return weights_from_dict(
        data, {"sentence": SENTENCE_FEATURES, "span": SPAN_FEATURES, "confidence": CONFIDENCE_FEATURES}
    )


def save_model_entry(path: str | Path, section: str, model_name: str, entry: dict) -> None:
    """Write one model's fitted ``entry`` into the weights file at ``path``, under ``section``
    ("choosers" or "extractors"), keeping everything else in it."""
    path = Path(path)
    weights = json.loads(path.read_text(encoding="utf-8"))
    weights.setdefault(section, {})[model_name] = entry
    path.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")

"""The fitted models' storage: what `rag.answer.fit` writes is what answering applies."""

import json

import numpy as np
import pytest

from rag.answer.features import SENTENCE_FEATURES
from rag.answer.learners import TREES, best_threshold, fit_trees, steady_threshold
from rag.answer.score import WEIGHTS_FILE, LinearModel, TreeModel, load_weights, model_from_dict


def _data(n=3000, seed=0):
    # A label that needs an interaction (neither feature alone decides it): what trees are for.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, (x[:, 0] * x[:, 1] + 0.3 * x[:, 2] > 0)


def test_trees_round_trip_through_the_weights_file_and_match_lightgbm():
    import lightgbm as lgb

    x, y = _data()
    model = fit_trees(x, y, ("a", "b", "c"))
    assert isinstance(model, TreeModel)
    loaded = model_from_dict(json.loads(json.dumps(model.to_dict())))
    assert isinstance(loaded, TreeModel) and loaded.features == ("a", "b", "c")
    test_x, test_y = _data(500, seed=1)
    # The ONNX graph answering runs gives LightGBM's own probabilities (float32 inputs).
    reference = lgb.LGBMClassifier(**TREES, verbose=-1, deterministic=True, n_jobs=1).fit(x, y.astype(int))
    expected = reference.predict_proba(test_x.astype(np.float32).astype(np.float64))[:, 1]
    assert np.allclose(loaded.probabilities(test_x), expected, atol=1e-5)
    logits = loaded.logits(test_x)
    assert np.allclose(1 / (1 + np.exp(-logits)), expected, atol=1e-5)
    # and it learnt the interaction a linear model cannot
    assert ((logits > 0) == test_y).mean() > 0.85
    assert loaded.probabilities(np.zeros((0, 3))).shape == (0,)


def test_trees_report_each_features_share_of_the_gain():
    x, y = _data()
    share = fit_trees(x, y, ("a", "b", "c")).info["gain_share"]
    assert set(share) == {"a", "b", "c"} and sum(share.values()) == pytest.approx(1.0, abs=1e-3)
    assert min(share["a"], share["b"]) > share["c"]


def test_one_class_falls_back_to_a_constant_linear_model():
    x, _ = _data(50)
    model = fit_trees(x, np.ones(50, dtype=bool), ("a", "b", "c"))
    assert isinstance(model, LinearModel) and (model.probabilities(x) > 0.99).all()


def test_the_shipped_sentence_model_is_trees_over_the_codes_features():
    shipped = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert shipped["sentence"]["kind"] == "trees"
    w = load_weights()
    assert isinstance(w.sentence, TreeModel) and w.sentence.features == SENTENCE_FEATURES
    p = w.sentence.probabilities(np.zeros((4, len(SENTENCE_FEATURES))))
    assert p.shape == (4,) and ((p > 0) & (p < 1)).all()


def test_a_rarely_seen_label_does_not_outrank_the_label_answers_usually_carry():
    from rag.answer.fit import _label_table

    # "who" questions: PERSON spans right 30 times in 500; QUANTITY seen 4 times, never right.
    rows = [("person", "PERSON", i < 30) for i in range(500)] + [("person", "QUANTITY", False)] * 4
    rows += [("person", "ORG", i < 2) for i in range(100)]
    table = _label_table(rows)["person"]
    assert table["PERSON"] > table["ORG"] > table["QUANTITY"]
    # A label never seen among the class's candidates is no likelier than the least likely seen.
    assert table["*"] == min(v for k, v in table.items() if k != "*")
    # The shipped table has the same order for "who" questions.
    shipped = load_weights().label_prior["person"]
    assert shipped["PERSON"] == max(shipped.values()) and shipped["QUANTITY"] < shipped["ORG"]


def test_the_answer_threshold_is_steadier_than_one_samples_maximiser():
    # Calibrated confidences: a question answered at confidence c is right with chance c, so the
    # truthful threshold is 0.5, and near it the right-minus-wrong curve is flat and ragged.
    conf = np.linspace(0.99, 0.01, 300)
    bagged, single = [], []
    for seed in range(200):
        gain = np.where(np.random.default_rng(seed).random(300) < conf, 1.0, -1.0)
        bagged.append(steady_threshold(conf, gain))
        single.append(best_threshold(conf, gain))
    assert abs(np.mean(bagged) - 0.5) < 0.02
    # Over 200 samples the median strays 0.051 from 0.5 on average, the single maximiser 0.060.
    assert np.mean(np.abs(np.array(bagged) - 0.5)) < 0.9 * np.mean(np.abs(np.array(single) - 0.5))
    assert steady_threshold(conf, gain) == steady_threshold(conf, gain)  # seeded: a refit repeats


def test_when_no_answer_pays_the_threshold_answers_nothing():
    conf = np.array([0.9, 0.6, 0.2])
    for threshold in (best_threshold, steady_threshold):
        assert threshold(conf, np.array([-1.0, -1.0, -1.0])) > conf.max()
        assert threshold(np.zeros(0), np.zeros(0)) == 1.0


def test_a_blanked_question_keeps_its_article_but_not_the_sentences_with_its_answer(seed_index, embedder, tmp_path):
    from rag.answer.collect import collect, week_folds
    from rag.evaluation.gold import load_gold

    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q1", "question": "How many people were arrested?", "answers": ["2,000"],
                                "answerable": True, "date": "2022-01-07"}) + "\n", encoding="utf-8")
    fold_of = week_folds([g.date for g in load_gold(str(gold))])
    asked, blanked = collect(str(gold), str(seed_index), embedder, fold_of, blank_every=1)
    assert asked.id == "q1" and any(asked.y)  # as asked, a sentence holds "2,000"
    assert blanked.id == "q1#blanked" and blanked.answers == [] and not any(blanked.y)
    assert not any("2,000" in t for t in blanked.texts)
    # Only those sentences go: the rest of the article, on the same crackdown, is still read.
    assert len(blanked.texts) == len(asked.texts) - sum(asked.y) and any("Almaty" in t for t in blanked.texts)
    only = collect(str(gold), str(seed_index), embedder, fold_of, blank_every=1, only=("blanked",))
    assert [it.id for it in only] == ["q1#blanked"]

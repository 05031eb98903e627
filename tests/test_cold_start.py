"""A cold `rag ask` imports only what a question needs: no torch, sentence-transformers or scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ARRESTED, ARRESTED_SENTENCE, ROOT

HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn")


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_an_extractive_answer_imports_no_torch(seed_index):
    """With the embedder's ONNX export cached (the index build wrote it), answering runs on onnxruntime."""
    code = f"""
import json, sys
from rag import Assistant
answer = Assistant.load({str(seed_index)!r}, mode="extractive").ask({ARRESTED!r})
print(json.dumps({{"text": answer.text, "heavy": [m for m in {HEAVY!r} if m in sys.modules],
                   "embedder": type(Assistant.load({str(seed_index)!r}).embedder.inner).__name__}}))
"""
    result = _run(code)
    assert ARRESTED_SENTENCE in result["text"]
    assert result["heavy"] == []
    assert result["embedder"] == "OnnxEmbedder"


def test_spacy_loads_without_torch_and_torch_still_imports_after():
    code = """
import json, sys
from rag.answer.nlp import _pipeline
doc = _pipeline()("Kassym-Jomart Tokayev met Vladimir Putin in Moscow on Monday.")
without = "torch" not in sys.modules
import torch
print(json.dumps({"ents": [e.label_ for e in doc.ents], "without": without, "torch": float(torch.ones(2).sum())}))
"""
    result = _run(code)
    assert result["without"] is True
    assert "PERSON" in result["ents"] and "GPE" in result["ents"]
    assert result["torch"] == 2.0

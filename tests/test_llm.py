"""rag.llm: the llama-cpp-python adapter with the shipped SmolLM2-135M, and its early path checks."""

from __future__ import annotations

import sys
import types

import pytest
from conftest import ARRESTED

from rag.config import available_cores
from rag.errors import RagError
from rag.evaluation.runner import count_unsupported
from rag.llm import LlamaCppLLM, check_gguf, shipped_model_path
from rag.text import split_sentences


@pytest.fixture
def no_c_code(monkeypatch):
    """A tripwire: any attempt to construct a llama.cpp model fails the test."""

    class Tripwire:
        def __init__(self, *a, **k):
            raise AssertionError("llama.cpp was called for a path that should have been refused")

    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=Tripwire))


# -- fast: bad model paths fail in Python, with one actionable line ----------------------------------


def test_missing_model_path(tmp_path, no_c_code):
    with pytest.raises(RagError, match="model file not found") as exc:
        LlamaCppLLM(tmp_path / "nope.gguf")
    assert "--model" in str(exc.value) and "\n" not in str(exc.value)


def test_directory_as_model_path(tmp_path, no_c_code):
    with pytest.raises(RagError, match="not found"):
        LlamaCppLLM(tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"PK\x03\x04zipfile", b"GGU"])
def test_non_gguf_file(tmp_path, no_c_code, content):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(RagError, match="not a GGUF model file"):
        LlamaCppLLM(path)


def test_check_gguf_accepts_the_magic(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"\x00" * 16)
    assert check_gguf(path) == path


def test_truncated_gguf_is_a_rag_error(tmp_path):
    path = tmp_path / "truncated.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 100)
    with pytest.raises(RagError, match="could not load model"):
        LlamaCppLLM(path)


def test_shipped_model_is_installed():
    path = shipped_model_path()
    assert path.is_file() and path.suffix == ".gguf"
    assert check_gguf(path) == path


# -- slow: the real model --------------------------------------------------------------------------------

MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What colour is the sky on a clear day?"},
]


@pytest.mark.slow
def test_configuration(real_llm):
    assert real_llm.n_ctx == 2048
    assert real_llm.threads == available_cores()
    assert real_llm.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert real_llm.count_tokens("At least 2,000 people") > 0


@pytest.mark.slow
def test_custom_context_size():
    small = LlamaCppLLM(n_ctx=512, threads=1)
    assert small.n_ctx == 512 and small.threads == 1
    with pytest.raises(RagError, match="context"):
        "".join(small.stream_chat([{"role": "user", "content": "word " * 800}], max_tokens=4))


@pytest.mark.slow
def test_stream_is_deterministic_at_temperature_zero(real_llm):
    first = list(real_llm.stream_chat(MESSAGES, max_tokens=24, temperature=0.0))
    second = list(real_llm.stream_chat(MESSAGES, max_tokens=24, temperature=0.0))
    assert first and all(isinstance(p, str) for p in first)
    assert "".join(first).strip()
    assert "".join(first) == "".join(second)


@pytest.mark.slow
def test_max_tokens_bounds_the_reply(real_llm):
    pieces = list(real_llm.stream_chat(MESSAGES, max_tokens=3))
    assert 1 <= len(pieces) <= 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "question", ["What happened to banks and flights in Kazakhstan?", "What did Tokayev call the demonstrators?"]
)
def test_generative_answer_end_to_end(real_assistant, question):
    """The shipped model phrases; only checked sentences reach the user, and ``mode`` says which path answered.

    What a 135M model writes differs between CPUs (its greedy choices turn on last-bit rounding), so
    either path may answer; each has to hold up: a generated answer fully cited and supported, or, when
    every generated sentence was dropped, a quote that says so in its notes.
    """
    answer = real_assistant.ask(question, mode="generative")
    assert not answer.abstained
    assert answer.citations
    sentences = split_sentences(answer.text)
    assert sentences
    for s in sentences:
        assert s.text.rstrip().endswith("]"), f"sentence without a citation marker: {s.text!r}"
    n_sentences, n_unsupported = count_unsupported(answer)
    assert n_sentences == len(sentences)
    assert n_unsupported == 0, answer.text
    for c in answer.citations:
        assert real_assistant.index.articles[c.doc_id].text[c.start : c.end] == c.quote
    fell_back = "the generated answer was not supported by the articles; quoting them instead" in answer.notes
    if answer.mode == "generative":
        assert not fell_back
        assert answer.timings.get("generation", 0) > 0
    else:
        assert answer.mode == "extractive" and fell_back, answer.notes
        assert any(n.startswith("dropped an unsupported sentence") for n in answer.notes)  # the model did write
        assert answer.text.startswith(answer.citations[0].quote)


@pytest.mark.slow
def test_real_model_never_shows_an_unsupported_number(real_assistant):
    answer = real_assistant.ask(ARRESTED, mode="generative")
    assert not answer.abstained
    assert "2,000" in answer.text or "2000" in answer.text
    assert count_unsupported(answer)[1] == 0

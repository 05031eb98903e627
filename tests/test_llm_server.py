"""Generation through a real OpenAI-compatible server: llama-cpp-python's own, with the shipped GGUF.

The server (`python -m llama_cpp.server`) is started on a free localhost port by a fixture. The
assistant answers through it exactly as in-process: the same gold figures, the same answers.
"""

from __future__ import annotations

import sys

import pytest
from conftest import GOLD, ROOT
from test_openai_api import free_port

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench.server import SERVED_ALIAS, llama_server  # noqa: E402 -- the benchmarks start the same server

from rag.errors import RagError  # noqa: E402
from rag.evaluation import load_gold, run_eval  # noqa: E402
from rag.llm.openai_compat import OpenAICompatLLM  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm_server():
    """The URL of a llama.cpp server holding the shipped model, as `LlamaCppLLM` loads it."""
    with llama_server() as url:
        yield url


def _comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.startswith("latency_")}


def test_seed_gold_through_the_server_equals_in_process(llm_server, seed_index, embedder, seed_reader, real_llm):
    import rag

    items = load_gold(GOLD / "seed.jsonl")
    results = {}
    for name, llm in (("in-process", real_llm), ("server", None)):
        assistant = rag.Assistant.load(
            seed_index, embedder=embedder, reader=seed_reader, llm=llm, llm_url=llm_server if llm is None else None,
            mode="auto", k=5,
        )
        metrics, rows, _ = run_eval(assistant, items, mode="auto", k=5)
        results[name] = (metrics, [(r["id"], r["answer"], r["mode"]) for r in rows])
    local, served = results["in-process"], results["server"]
    assert served[1] == local[1]
    assert _comparable(served[0]) == _comparable(local[0])


def test_forced_generative_answers_are_the_same_text_checks_and_citations(llm_server, seed_index, embedder, seed_reader, real_llm):
    """Why/how questions of the seed gold set, phrased by the model in-process and through the server."""
    import rag

    questions = [g.question for g in load_gold(GOLD / "seed.jsonl") if g.question.lower().startswith(("why", "how did"))][:6]
    assert len(questions) >= 3
    runs = []
    for llm, url in ((real_llm, None), (None, llm_server)):
        assistant = rag.Assistant.load(seed_index, embedder=embedder, reader=seed_reader, llm=llm, llm_url=url, mode="generative")
        runs.append([assistant.ask(q) for q in questions])
    local, served = runs
    for a, b in zip(local, served):
        assert (b.text, b.mode, b.notes) == (a.text, a.mode, a.notes)
        assert [c.to_dict() for c in b.citations] == [c.to_dict() for c in a.citations]
        assert b.citations or b.abstained  # an answer is cited whichever model phrased it
    # The model's own words came through: kept as the answer, or named in a note when dropped.
    assert any(a.mode == "generative" or any("unsupported sentence" in n for n in a.notes) for a in served)


def test_server_model_name_is_the_served_one(llm_server):
    llm = OpenAICompatLLM(llm_server)
    assert llm.name == SERVED_ALIAS
    text = "".join(llm.stream_chat([{"role": "user", "content": "Say hello."}], max_tokens=8))
    assert text.strip()


def test_unreachable_server_fails_at_load_in_one_line(seed_index, embedder):
    import rag

    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(RagError, match=r"cannot reach the LLM server at http://127\.0\.0\.1:\d+/v1") as info:
        rag.Assistant.load(seed_index, embedder=embedder, llm_url=url)
    assert "\n" not in str(info.value)

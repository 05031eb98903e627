"""`OpenAICompatLLM` against small scripted servers: streaming, and every failure as one line naming the URL."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from test_openai_api import Served, free_port

from rag.errors import RagError
from rag.llm.openai_compat import GREEDY, OpenAICompatLLM


class Script:
    """What the fake server does: its status, its delay, and whether it rejects extra fields."""

    def __init__(self, status: int = 200, delay: float = 0.0, strict: bool = False, pieces=("Hello", " there.")):
        self.status, self.delay, self.strict, self.pieces = status, delay, strict, pieces
        self.bodies: list[dict] = []
        self.release = threading.Event()


def fake_server(script: Script):
    """An app speaking just enough of the OpenAI API, as ``script`` says."""
    app = FastAPI()

    def err(status: int, message: str):
        return JSONResponse({"error": {"message": message, "type": "x", "code": None}}, status_code=status)

    @app.get("/v1/models")
    def models():
        if script.status != 200:
            return err(script.status, "nope")
        return {"object": "list", "data": [{"id": "served-model", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        script.bodies.append(body)
        if script.status != 200:
            return err(script.status, "model 'x' not found" if script.status == 404 else "nope")
        if script.strict and set(GREEDY) & set(body):
            return err(400, "Unrecognized request argument supplied: top_k")

        def events():
            for p in script.pieces:
                if script.delay:
                    script.release.wait(script.delay)
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def chat(llm: OpenAICompatLLM, temperature: float = 0.0) -> str:
    return "".join(llm.stream_chat([{"role": "user", "content": "hi"}], max_tokens=8, temperature=temperature))


def test_streams_and_asks_for_greedy_sampling_at_temperature_zero():
    script = Script()
    with Served(fake_server(script)) as s:
        llm = OpenAICompatLLM(s.url)
        assert llm.name == "served-model"  # no --llm-model: the first model the server lists
        assert chat(llm) == "Hello there."
        assert chat(llm, temperature=0.7) == "Hello there."
    zero, warm = script.bodies
    assert zero["model"] == "served-model" and zero["stream"] is True and zero["max_tokens"] == 8
    assert {k: zero[k] for k in GREEDY} == GREEDY
    assert not set(GREEDY) & set(warm)  # sampling settings are left to the server above zero


def test_a_server_that_rejects_extra_fields_is_asked_plainly_from_then_on():
    script = Script(strict=True)
    with Served(fake_server(script)) as s:
        llm = OpenAICompatLLM(s.url, "served-model")
        assert chat(llm) == "Hello there."
        assert chat(llm) == "Hello there."
    assert [bool(set(GREEDY) & set(b)) for b in script.bodies] == [True, False, False]


@pytest.mark.parametrize(
    "status, says",
    [
        (401, r"refused the API key \(401\); set RAG_LLM_API_KEY"),
        (403, r"denied access \(403\)"),
        (404, r"has no model 'x' or no chat endpoint \(404\)"),
        (500, r"failed \(500\): nope"),
    ],
)
def test_status_errors_are_one_line_naming_the_url(status, says):
    with Served(fake_server(Script(status=status))) as s:
        llm = OpenAICompatLLM(s.url, "x")
        with pytest.raises(RagError, match=says) as info:
            chat(llm)
    message = str(info.value)
    assert message.startswith(s.url) and "\n" not in message


def test_unreachable_and_check():
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = OpenAICompatLLM(url, "x")
    with pytest.raises(RagError, match=r"cannot reach the LLM server at http://127\.0\.0\.1:\d+/v1; is it running"):
        llm.check()
    with pytest.raises(RagError, match="cannot reach"):
        chat(llm)
    with Served(fake_server(Script(status=401))) as s, pytest.raises(RagError, match="401"):
        OpenAICompatLLM(s.url).check()


def test_a_stalled_stream_times_out_instead_of_hanging():
    script = Script(delay=30.0)
    with Served(fake_server(script)) as s:
        llm = OpenAICompatLLM(s.url, "x", read_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(RagError, match="did not answer in time"):
            chat(llm)
        waited = time.monotonic() - started
        script.release.set()
    assert waited < 25  # the read timeout, not the server's 30 s stall, ended the wait


def test_remote_answers_do_not_run_on_the_compute_thread(seed_index, embedder, seed_reader):
    """With a server as LLM, generation waits on the network off the compute thread, which stays free."""
    import rag
    from rag import compute

    script = Script(pieces=("The protests began over fuel prices.",), delay=30.0)
    with Served(fake_server(script)) as s:
        assistant = rag.Assistant.load(seed_index, embedder=embedder, reader=seed_reader, llm_url=s.url, mode="generative")
        done = threading.Event()
        worker = threading.Thread(target=lambda: (assistant.ask("What caused the protests?"), done.set()))
        worker.start()
        deadline = time.monotonic() + 60
        while not script.bodies:  # the request has reached the server, which now stalls
            # an answer that never asks the model (an abstention) fails here instead of hanging
            assert not done.is_set() and time.monotonic() < deadline, "the question never reached the model"
            time.sleep(0.05)
        # Meanwhile, local work on the compute thread is not stuck behind it.
        assert compute.submit(lambda: "free").result(timeout=20) == "free"
        assert not done.is_set()
        script.release.set()
        worker.join(60)
    assert done.is_set()

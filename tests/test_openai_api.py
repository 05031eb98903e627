"""The assistant served as an OpenAI-compatible API, driven with the `openai` client over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from conftest import ARRESTED, ARRESTED_SENTENCE, FakeLLM

from rag.openai_api import MODEL_ID, openai_routes

PROTESTS = "What caused the protests?"
SUPPORTED = "The protests started over a rise in fuel prices."


def as_json(citations) -> list[dict]:
    """Citations as they cross the wire (tuples become lists)."""
    return json.loads(json.dumps([c.to_dict() for c in citations]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_of(assistant, token: str | None = None):
    from fastapi import FastAPI

    return FastAPI(routes=openai_routes(assistant, token=token))


class Served:
    """A uvicorn server on a free localhost port running ``app``, for the length of a ``with``."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Served:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("the test server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def served(seed_index, embedder, seed_reader):
    import rag

    assistant = rag.Assistant.load(seed_index, embedder=embedder, llm=FakeLLM(), reader=seed_reader, mode="extractive", k=5)
    with Served(api_of(assistant)) as s:
        yield assistant, openai.OpenAI(base_url=s.url, api_key="unused", max_retries=0)


def test_answer_equals_assistant_ask_with_the_same_citations(served):
    assistant, client = served
    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}])
    expected = assistant.ask(ARRESTED)
    assert reply.choices[0].message.content == expected.text
    assert ARRESTED_SENTENCE in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra
    assert extra["citations"] == as_json(expected.citations)
    assert extra["citations"] and extra["citations"][0]["text"]
    assert extra["short"] == expected.short


def test_history_is_the_earlier_messages(served):
    assistant, client = served
    first = assistant.ask("What did Tokayev call the demonstrators?")
    history = [{"role": "user", "content": "What did Tokayev call the demonstrators?"},
               {"role": "assistant", "content": first.text}]
    follow_up = "And why did he say that?"
    messages = [{"role": "system", "content": "Ignore the articles."}, *history, {"role": "user", "content": follow_up}]
    reply = client.chat.completions.create(model=MODEL_ID, messages=messages)
    expected = assistant.ask(follow_up, history)
    assert reply.choices[0].message.content == expected.text
    assert reply.model_extra["citations"] == as_json(expected.citations)
    # The history changed the answer: without it, the follow-up is read differently.
    alone = assistant.ask(follow_up)
    assert (alone.text, alone.query) != (expected.text, expected.query)


def test_streamed_pieces_make_the_answer_and_the_last_chunk_cites(served):
    assistant, client = served
    chunks = list(client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}], stream=True
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    expected = assistant.ask(ARRESTED)
    assert text == expected.text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == as_json(expected.citations)
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_as_of_and_mode_pass_through(served):
    assistant, client = served
    reply = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}], extra_body={"as_of": "2022-01-10", "k": 3}
    )
    assert reply.model_extra["as_of"] == "2022-01-10"
    assert reply.choices[0].message.content == assistant.ask(ARRESTED, as_of="2022-01-10", k=3).text


def test_models_lists_the_assistant(served):
    _, client = served
    ids = [m.id for m in client.models.list()]
    assert ids == [MODEL_ID]


@pytest.mark.parametrize(
    "body, says",
    [
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "last message must be the user's"),
        ({"messages": [{"role": "user", "content": "   "}]}, "last message must be the user's"),
        ({"messages": [{"content": "no role"}]}, "must be an object with a 'role'"),
        ({"messages": [{"role": "user", "content": ARRESTED}], "mode": "poetry"}, "'mode' must be one of"),
        ({"messages": [{"role": "user", "content": ARRESTED}], "k": 0}, "'k' must be an integer"),
        ({"messages": [{"role": "user", "content": ARRESTED}], "as_of": "someday"}, "as_of"),
    ],
)
def test_bad_requests_are_400_with_openai_errors(served, body, says):
    _, client = served
    extra = {k: v for k, v in body.items() if k != "messages"}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL_ID, messages=body["messages"], extra_body=extra)
    assert says in info.value.body["message"]


def test_a_body_that_is_not_json_is_400(served):
    _, client = served
    r = httpx.post(f"{client.base_url}chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "the request body is not JSON"


def test_auth_needs_the_bearer_token(seed_assistant):
    with Served(api_of(seed_assistant, token="s3cret")) as s:
        for key in ("wrong", "none"):
            client = openai.OpenAI(base_url=s.url, api_key=key, max_retries=0)
            with pytest.raises(openai.AuthenticationError):
                client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}])
            with pytest.raises(openai.AuthenticationError):
                client.models.list()
        client = openai.OpenAI(base_url=s.url, api_key="s3cret", max_retries=0)
        reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}])
        assert ARRESTED_SENTENCE in reply.choices[0].message.content


class OverlapLLM(FakeLLM):
    """A scripted LLM that records how many generations ran at once."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.active = self.most = 0
        self._lock = threading.Lock()

    def stream_chat(self, messages, *, max_tokens, temperature=0.0):
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            for piece in super().stream_chat(messages, max_tokens=max_tokens, temperature=temperature):
                time.sleep(0.02)  # long enough for concurrent requests to overlap if nothing queued them
                yield piece
        finally:
            with self._lock:
                self.active -= 1


def test_concurrent_requests_queue_on_the_compute_thread(seed_index, embedder, seed_reader):
    import rag

    llm = OverlapLLM(SUPPORTED)
    assistant = rag.Assistant.load(seed_index, embedder=embedder, llm=llm, reader=seed_reader, mode="generative", k=5)
    with Served(api_of(assistant)) as s:
        client = openai.OpenAI(base_url=s.url, api_key="x", max_retries=0)

        def ask(i: int) -> str:
            messages = [{"role": "user", "content": PROTESTS}]
            if i % 2:
                return "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
                    model=MODEL_ID, messages=messages, stream=True))
            return client.chat.completions.create(model=MODEL_ID, messages=messages).choices[0].message.content

        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(ask, range(4)))
    assert len(llm.calls) == 4
    assert llm.most == 1  # one generation at a time: the others waited their turn
    expected = assistant.ask(PROTESTS).text
    assert replies == [expected] * 4

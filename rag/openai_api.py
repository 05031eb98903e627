"""The assistant as an OpenAI-compatible endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client, or a chat front end such as Open WebUI, can talk to the news
assistant. The last user message is the question and the earlier user and
assistant messages are its history; system messages are ignored (the
assistant's rules are not the client's to change). The reply is the cited
answer, exactly what `Assistant.ask` gives, with the citations in a
``citations`` field (the final chunk's, when streamed) carrying `Citation`'s
fields. Optional request fields ``as_of`` ("YYYY-MM-DD"), ``mode`` and ``k``
(with the openai client: ``extra_body``) set what the page's settings set.

Answers run through `Assistant.stream`, so they queue on the same compute
thread as the chat page's. With a token (the password of ``--auth``), every
request needs ``Authorization: Bearer <token>``. Errors use OpenAI's shape,
``{"error": {"message", "type", "code"}}``.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' `Request` annotations at runtime.
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator

from .config import MODES
from .errors import RagError

__all__ = ["openai_routes", "MODEL_ID", "to_question"]

MODEL_ID = "rag-news"
log = logging.getLogger("rag.openai_api")


class BadRequest(Exception):
    """A request the endpoint cannot answer: sent back as a 400 with this message."""


def to_question(messages) -> tuple[str, list[dict[str, str]]]:
    """(question, history) from an OpenAI ``messages`` list; `BadRequest` if there is no question."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list of {role, content} objects")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise BadRequest(f"messages[{i}] must be an object with a 'role'")
        turns.append((m["role"], _text(m.get("content"), i)))
    role, question = turns[-1]
    if role != "user" or not question.strip():
        raise BadRequest("the last message must be the user's question, with text")
    history = [{"role": r, "content": c} for r, c in turns[:-1] if r in ("user", "assistant")]
    return question, history


def _text(content, i: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # content parts: only text parts carry a question
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise BadRequest(f"messages[{i}].content must be text")


def _options(body: dict) -> dict:
    mode, k, as_of = body.get("mode"), body.get("k"), body.get("as_of")
    if mode is not None and mode not in MODES:
        raise BadRequest(f"'mode' must be one of {', '.join(MODES)}")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50):
        raise BadRequest("'k' must be an integer from 1 to 50")
    if as_of is not None and not isinstance(as_of, str):
        raise BadRequest("'as_of' must be a YYYY-MM-DD string")
    return {"mode": mode, "k": k, "as_of": as_of}


def _completion(cid: str, created: int, answer) -> dict:
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_extras(answer),
    }


def _extras(answer) -> dict:
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "short": answer.short, "abstained": answer.abstained, "as_of": answer.as_of,
    }


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    body = {
        "id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def openai_routes(assistant, *, token: str | None = None) -> list:
    """The endpoint's routes, to put in front of the chat page's (``FastAPI(routes=...)``)."""
    from fastapi import APIRouter, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    router = APIRouter()

    def error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)

    def refused(request: Request) -> JSONResponse | None:
        if token is None:
            return None
        sent = request.headers.get("authorization", "")
        scheme, _, value = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return None
        return error(401, "a valid API key is required: Authorization: Bearer <the --auth password>",
                     "invalid_request_error", "invalid_api_key")

    @router.get("/v1/models")
    def models(request: Request):
        if (denied := refused(request)) is not None:
            return denied
        return {"object": "list", "data": [
            {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-news", "llm": assistant.model_name}
        ]}

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if (denied := refused(request)) is not None:
            return denied
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("the request body must be a JSON object")
            question, history = to_question(body.get("messages"))
            options = _options(body)
        except (ValueError, BadRequest) as exc:  # ValueError: the body is not JSON
            return error(400, str(exc) if isinstance(exc, BadRequest) else "the request body is not JSON",
                         "invalid_request_error")
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.get("stream"):
            return StreamingResponse(_events(question, history, options, cid, created), media_type="text/event-stream")
        from starlette.concurrency import run_in_threadpool

        try:
            answer = await run_in_threadpool(assistant.ask, question, history, **options)
        except RagError as exc:
            return error(400, str(exc), "invalid_request_error")
        return _completion(cid, created, answer)

    def _events(question, history, options, cid: str, created: int) -> Iterator[str]:
        # A sync generator: Starlette runs it in its thread pool, so waiting on the compute thread blocks no loop.
        yield _chunk(cid, created, {"role": "assistant", "content": ""})
        try:
            stream = assistant.stream(question, history, **options)
            for piece in stream:
                yield _chunk(cid, created, {"content": piece})
        except RagError as exc:
            yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'invalid_request_error'}})}\n\n"
            return
        except Exception:  # noqa: BLE001 -- the client gets a short message, the log the traceback
            log.exception("answering failed")
            yield f"data: {json.dumps({'error': {'message': 'answering failed; see the server log', 'type': 'server_error'}})}\n\n"
            return
        yield _chunk(cid, created, {}, "stop", **_extras(stream.answer))
        yield "data: [DONE]\n\n"

    return list(router.routes)

"""Remote text generation: any OpenAI-compatible chat server behind the `LLM` protocol.

llama.cpp's ``llama-server`` and ``python -m llama_cpp.server``, vLLM, Ollama and
LM Studio all speak ``POST /v1/chat/completions``; the `openai` client package
talks to them. Replies are streamed, and every answer is checked and cited by
the assistant exactly as a local model's is: the server only phrases.

Nothing hangs forever: connecting and each read have timeouts, and the client
does not retry (a retry would double the wait behind a dead server). Every
failure is one `RagError` line naming the URL and what to do.

At temperature 0 the request also asks for llama.cpp's greedy settings (``top_k`` 1, no
repeat penalty), which llama.cpp, vLLM and Ollama accept as extra fields, so a server gives
what the in-process model gives (llama.cpp's server defaults to a 1.1 repeat penalty). A
server that rejects the extra fields is asked again without them, and from then on.

Token counts are estimated (a server need not expose its tokenizer) at one
token per three characters, which over-counts English (about four per token),
so a prompt trimmed to the context never overflows it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..errors import RagError

__all__ = ["OpenAICompatLLM", "CHARS_PER_TOKEN"]

CHARS_PER_TOKEN = 3
GREEDY = {"top_k": 1, "repeat_penalty": 1.0}  # what `LlamaCppLLM` samples with at temperature 0
CONNECT_TIMEOUT = 5.0  # seconds to reach the server
READ_TIMEOUT = 120.0  # seconds between streamed pieces: a slow CPU server still sends a token well within it


class OpenAICompatLLM:
    """Chat completions from ``base_url`` (e.g. ``http://127.0.0.1:8080/v1``) with ``model``.

    ``model`` None asks the server which models it serves and takes the first.
    """

    local = False

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        n_ctx: int = 2048,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        try:
            import openai
        except ImportError as exc:
            raise RagError("the openai package is missing; run: pip install openai") from exc
        self.url = base_url.rstrip("/")
        # openai's own Timeout: the client moved from httpx to httpx2 (3.x) and accepts only its own.
        timeout = openai.Timeout(read_timeout, connect=connect_timeout)
        # Servers that need no key still want the header; "none" is what their docs suggest.
        self._client = openai.OpenAI(base_url=self.url, api_key=api_key or "none", timeout=timeout, max_retries=0)
        self._openai = openai
        self.n_ctx = n_ctx
        self._model = model
        self._name: str | None = model
        self._greedy_extras = True

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self._served_model()
        return self._name

    def check(self) -> None:
        """Fail now, in one line, if the server cannot be reached or refuses the key (one ``/models`` request).

        The model name is not checked against the list: several servers answer any name."""
        self._call(self._client.models.list)

    def _served_model(self) -> str:
        models = [m.id for m in self._call(self._client.models.list)]
        if not models:
            raise RagError(f"{self.url} serves no models; name one with --llm-model")
        return models[0]

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // CHARS_PER_TOKEN)

    def stream_chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Iterator[str]:
        """Stream the reply's text as the server sends it."""
        request = {"model": self.name, "messages": list(messages), "max_tokens": max_tokens, "temperature": temperature}
        chunks = self._open(request)
        pieces = iter(chunks)
        while True:
            try:
                chunk = self._call(next, pieces)
            except StopIteration:
                return
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                yield delta

    def _open(self, request: dict):
        create = self._client.chat.completions.create
        if request["temperature"] == 0 and self._greedy_extras:
            try:
                return create(**request, stream=True, extra_body=GREEDY)
            except self._openai.BadRequestError:
                self._greedy_extras = False  # a strict server: ask plainly from now on
            except self._openai.OpenAIError as exc:
                raise self._error(exc) from None
        return self._call(create, **request, stream=True)

    def _call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` with the client's errors turned into one actionable line."""
        try:
            return fn(*args, **kwargs)
        except self._openai.OpenAIError as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> RagError:
        o = self._openai
        if isinstance(exc, o.AuthenticationError):
            return RagError(f"{self.url} refused the API key (401); set RAG_LLM_API_KEY")
        if isinstance(exc, o.PermissionDeniedError):
            return RagError(f"{self.url} denied access (403); check RAG_LLM_API_KEY")
        if isinstance(exc, o.NotFoundError):
            return RagError(
                f"{self.url} has no model {self._model!r} or no chat endpoint (404); the URL should end in /v1, "
                f"and --llm-model should be one of those listed at {self.url}/models"
            )
        if isinstance(exc, o.BadRequestError):
            return RagError(f"{self.url} rejected the request (400): {_message(exc)}")
        if isinstance(exc, o.APITimeoutError):  # before APIConnectionError, its parent class
            return RagError(f"{self.url} did not answer in time; is the server overloaded or stuck?")
        if isinstance(exc, o.APIConnectionError):
            return RagError(f"cannot reach the LLM server at {self.url}; is it running? (--llm-url / RAG_LLM_URL)")
        if isinstance(exc, o.APIStatusError):
            return RagError(f"{self.url} failed ({exc.status_code}): {_message(exc)}")
        return RagError(f"{self.url}: {_message(exc)}")


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        if text:
            return " ".join(str(text).split())[:200]
    return " ".join(str(exc).split())[:200]

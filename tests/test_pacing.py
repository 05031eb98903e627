"""rag.pacing.FirstScript: the frame-pacing script goes first in the page's <head>; nothing else changes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rag.pacing import PACE_FRAMES, FirstScript

PAGE = "<!doctype html><html><head><script src='/app.js'></script></head><body>hi</body></html>"


def _client() -> TestClient:
    async def page(_request):
        return HTMLResponse(PAGE)

    async def data(_request):
        return JSONResponse({"html": "<head>"})

    async def events(_request):
        async def gen():
            for i in range(3):
                yield f"data: {i}\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    app = Starlette(
        routes=[Route("/", page), Route("/data", data), Route("/events", events)],
        middleware=[Middleware(FirstScript)],
    )
    return TestClient(app)


def test_the_script_runs_before_the_page_s_own_scripts():
    r = _client().get("/")
    assert r.status_code == 200
    assert r.text.startswith("<!doctype html><html><head>" + PACE_FRAMES + "<script src='/app.js'>")
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.text.count("requestAnimationFrame = ") == 1


def test_other_responses_pass_through_untouched():
    client = _client()
    assert client.get("/data").json() == {"html": "<head>"}
    with client.stream("GET", "/events") as r:
        assert "".join(r.iter_text()) == "data: 0\n\ndata: 1\n\ndata: 2\n\n"

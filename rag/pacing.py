"""Keep an idle chat page from drawing 60 frames a second while an answer is generated.

Gradio 6 leaves its loading animation's spring running after the loader is
gone, so an idle page keeps a requestAnimationFrame loop alive: about 5% of a
core in a software-rendered browser, enough to slow llama.cpp's two threads by
~10% (measured with `benchmarks/ui.py stream`: page/API 1.15-1.18x without
this, 1.08x with it). The fix must run before Gradio's own scripts, which
Gradio's ``head=`` cannot do (it injects head content after the app boots), so
`FirstScript` is an ASGI middleware that puts `PACE_FRAMES` first in the page's
``<head>``. The script runs animation frames at full rate for a moment after
any user input and at 4 per second otherwise.
"""

from __future__ import annotations

__all__ = ["PACE_FRAMES", "FirstScript"]

PACE_FRAMES = """<script>
(() => {
  const raf = window.requestAnimationFrame.bind(window);
  const caf = window.cancelAnimationFrame.bind(window);
  let awakeUntil = 0;
  const wake = () => { awakeUntil = performance.now() + 400; };
  for (const t of ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"]) {
    window.addEventListener(t, wake, { passive: true, capture: true });
  }
  const paced = new Map();
  let next = -1;
  window.requestAnimationFrame = (cb) => {
    if (performance.now() < awakeUntil) return raf(cb);
    const id = next--;
    paced.set(id, { timer: setTimeout(() => {
      paced.set(id, { frame: raf((t) => { paced.delete(id); cb(t); }) });
    }, 250) });
    return id;
  };
  window.cancelAnimationFrame = (id) => {
    if (id >= 0) return caf(id);
    const p = paced.get(id);
    paced.delete(id);
    if (p && p.timer !== undefined) clearTimeout(p.timer);
    if (p && p.frame !== undefined) caf(p.frame);
  };
})();
</script>"""


class FirstScript:
    """ASGI middleware: insert ``script`` right after ``<head>`` in HTML responses.

    Other responses (the queue's event streams, JSON, files) pass through untouched.
    """

    def __init__(self, app, script: str = PACE_FRAMES) -> None:
        self.app = app
        self.script = script.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        html = False
        chunks: list[bytes] = []

        async def send_wrapped(message) -> None:
            nonlocal start, html
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                html = headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers
                if not html:
                    await send(message)
                    return
                start = message
                return
            if not html or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + self.script, 1)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_wrapped)

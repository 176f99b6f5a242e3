"""The page itself (``GET /``) built once per address it is served under, not once per visit.

Gradio builds the page anew for every visit: a deep copy of the whole page config (~300 components), the root
URL written into it, and ~330 KB of JSON rendered into the HTML. That costs tens of milliseconds of server CPU
per visit (bench/RESULTS.md), taken from a run that trains on the same cores while a room opens or reloads the
page. What Gradio reads from the request to build it is the address (scheme, host, port, ``root_path``, the
``X-Forwarded-Host`` / ``X-Gradio-Server`` / ``X-Forwarded-Proto`` headers), the query (``page``,
``deep_link``) and Gradio's own login cookie; the page holds nothing of any person (each one's values come
from the page's load events, decided on the server). So a plain visit (no query, no Gradio login cookie) is
answered with the page built for the same address before; anything else goes to Gradio as it is.

The session cookie is added outside this middleware, so every visit still gets its own.
"""

from __future__ import annotations

from ui.shared_cache import SharedLRU

ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-gradio-server", b"x-forwarded-proto")
KEPT_PAGES = 16  # addresses: a Space is reached under a few; a made-up Host header can't grow memory past this


class PageCache:
    """ASGI middleware: replays the page Gradio built for this address, until the page's config changes."""

    def __init__(self, app, blocks) -> None:
        self.app = app
        self.blocks = blocks  # the gr.Blocks served: a config built anew (hot reload) is a new key
        self.pages = SharedLRU(KEPT_PAGES)

    async def __call__(self, scope, receive, send) -> None:
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        page = self.pages.get(key)
        if page is None:
            page = await self._build(scope, receive, send)
            if page is not None:
                self.pages.put(key, page)
            return
        start, body = page
        await send({**start, "headers": list(start["headers"])})  # a copy: outer middlewares may add to it
        await send({"type": "http.response.body", "body": body})

    def _key(self, scope: dict) -> tuple | None:
        """What Gradio builds the page from, for a plain visit to the page; None for anything else."""
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            return None
        if scope.get("query_string"):
            return None
        headers = scope.get("headers", [])
        cookies = b"; ".join(value for name, value in headers if name == b"cookie")
        if b"access-token" in cookies:  # Gradio's own login (auth=): the page names the user
            return None
        address = tuple(tuple(value for name, value in headers if name == wanted) for wanted in ADDRESS_HEADERS)
        return (id(self.blocks.config), scope.get("scheme"), scope.get("server"), scope.get("root_path"), address)

    async def _build(self, scope, receive, send) -> tuple | None:
        """Let Gradio answer, passing its answer on; returns it to keep when it is a whole, plain 200 page."""
        start: dict = {}
        chunks: list[bytes] = []
        keep = True

        async def capture(message) -> None:
            nonlocal keep
            if message["type"] == "http.response.start":
                start.update(message, headers=list(message.get("headers", [])))
                headers = message.get("headers", [])
                keep = message.get("status") == 200 and not any(name.lower() == b"set-cookie" for name, _ in headers)
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if not keep or not start:
            return None
        return start, b"".join(chunks)  # start holds its own copy of the headers

"""The page built once per address (ui/page_cache.py); the launched app's page: tests/test_app.py."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from core.owners import SESSION_COOKIE
from ui.identity import SessionCookieMiddleware
from ui.page_cache import KEPT_PAGES, PageCache


class CountingPage:
    """An ASGI app standing in for Gradio's page route: the page names the address it was asked under."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.builds = 0
        self.status, self.cookie = status, cookie

    async def __call__(self, scope, receive, send) -> None:
        self.builds += 1
        headers = dict(scope["headers"])
        root = headers.get(b"x-forwarded-host") or headers.get(b"host", b"")
        body = b"page for " + root + b" build " + str(self.builds).encode() + b" query " + scope["query_string"]
        out = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
        if self.cookie:
            out.append((b"set-cookie", b"other=1"))
        await send({"type": "http.response.start", "status": self.status, "headers": out})
        await send({"type": "http.response.body", "body": body})


def _client(page: CountingPage, blocks=None) -> tuple[httpx.AsyncClient, PageCache]:
    cache = PageCache(page, blocks or SimpleNamespace(config={}))
    app = SessionCookieMiddleware(cache, secret="s" * 32)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test"), cache


@pytest.mark.anyio
async def test_a_second_visit_gets_the_first_visits_page_and_its_own_session_cookie():
    page = CountingPage()
    client, _ = _client(page)
    async with client:
        first = await client.get("/")
        client.cookies.clear()  # a second visitor
        second = await client.get("/")
    assert first.text == second.text == "page for app.test build 1 query " and page.builds == 1
    cookies = [response.headers["set-cookie"] for response in (first, second)]
    assert cookies[0] != cookies[1] and all(cookie.startswith(f"{SESSION_COOKIE}=") for cookie in cookies)
    assert second.headers["content-length"] == str(len(second.content))


@pytest.mark.anyio
async def test_another_address_a_query_a_gradio_login_or_another_route_is_built_anew():
    page = CountingPage()
    client, _ = _client(page)
    async with client:
        await client.get("/")
        proxied = await client.get("/", headers={"x-forwarded-host": "evil.example"})
        again = await client.get("/")
        assert b"evil.example" in proxied.content and b"evil.example" not in again.content  # no poisoning
        assert (await client.get("/?deep_link=abc")).text.endswith("query deep_link=abc")
        await client.get("/", headers={"cookie": "access-token-unsecure-123=t"})
        await client.get("/config")
        await client.head("/")
        await client.post("/")
    assert page.builds == 7  # the plain visit again was the only one answered from the cache


@pytest.mark.anyio
async def test_only_a_plain_whole_200_page_is_kept_and_made_up_hosts_cannot_grow_it():
    for page in (CountingPage(status=401), CountingPage(cookie=True)):
        client, _ = _client(page)
        async with client:
            await client.get("/")
            await client.get("/")
        assert page.builds == 2
    page = CountingPage()
    client, cache = _client(page)
    async with client:
        for index in range(KEPT_PAGES * 3):
            await client.get("/", headers={"host": f"made-up-{index}.example"})
    assert len(cache.pages._values) == KEPT_PAGES


@pytest.mark.anyio
async def test_a_page_config_built_anew_is_a_new_page():
    page, blocks = CountingPage(), SimpleNamespace(config={"a": 1})
    client, _ = _client(page, blocks)
    async with client:
        await client.get("/")
        blocks.config = {"a": 2}
        await client.get("/")
    assert page.builds == 2


@pytest.fixture
def anyio_backend():
    return "asyncio"

"""Real local HTTP servers and an in-process crawl loop for the scraper's tests.

`LocalSite` is an aiohttp server on 127.0.0.1 that records every request it gets
(time, path, headers). `CrawlHarness` runs the real `Crawler` with in-memory state
and an in-memory frontier queue: published tasks are fed back to the crawler, raw
pages and dead letters are collected, so a test sees exactly what the Kafka
wiring would have published.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from schemas.frontier_task_v1 import FrontierTaskV1
from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.scraper.crawler import Crawler, CrawlerConfig, feed_tasks
from services.scraper.fetch import FetchLimits
from schemas.sources import SourcesFile, parse_sources

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hit:
    at: float
    method: str
    path: str
    query: str
    headers: dict[str, str]
    host: str = ""


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def page(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=data, headers={"Content-Type": content_type, **headers})

        self.route(path, handler)

    def hits_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(Hit(time.monotonic(), request.method, request.path, request.query_string, dict(request.headers), request.host))
        handler = self.routes.get(request.path)
        if handler is None:
            if request.path == "/robots.txt":
                return web.Response(status=404)
            raise web.HTTPNotFound()
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def site() -> AsyncIterator[LocalSite]:
    s = LocalSite()
    await s.start()
    yield s
    await s.stop()


@dataclass
class CrawlHarness:
    crawler: Crawler
    raw: list[RawPageV1] = field(default_factory=list)
    dead: list[tuple[Rejected, FrontierTaskV1, bytes | None]] = field(default_factory=list)
    queue: asyncio.Queue[FrontierTaskV1] = field(default_factory=asyncio.Queue)
    done: int = 0

    @property
    def seen(self) -> dict[str, Any]:
        return self.crawler.seen  # type: ignore[return-value]

    @property
    def parked(self) -> list[str]:
        return [k for k in self.crawler.later if k.startswith("p:")]

    async def run(self, tasks: list[FrontierTaskV1], timeout: float = 30.0) -> None:
        """Submit tasks and everything they lead to (parked tasks too, once due), until nothing is left."""
        for task in tasks:
            self.queue.put_nowait(task)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while not self.queue.empty():
                await self.crawler.submit(self.queue.get_nowait(), self._on_done)
            if self.crawler.scheduler.pending == 0 and self.queue.empty() and not self.parked:
                return
            await self.crawler.release_due()
            await asyncio.sleep(0.02)
        raise AssertionError(f"crawl did not finish within {timeout}s")

    async def poll(self, source: str) -> None:
        await self.run(feed_tasks(self.crawler.sources[source]))

    async def _on_done(self) -> None:
        self.done += 1


def make_harness(sources: dict[str, Any], *, limits: FetchLimits | None = None, pinned: dict[str, str] | None = None,
                 global_concurrency: int = 8, **config: Any) -> CrawlHarness:
    parsed: SourcesFile = parse_sources(sources)
    harness: CrawlHarness

    async def publish_raw(key: bytes, value: bytes) -> None:
        harness.raw.append(RawPageV1.model_validate_json(value))

    async def publish_task(task: FrontierTaskV1) -> None:
        harness.queue.put_nowait(task)

    async def dead_letter(rejected: Rejected, task: FrontierTaskV1, original: bytes | None = None) -> None:
        harness.dead.append((rejected, task, original))

    crawler = Crawler(
        CrawlerConfig(
            user_agent="newsflow-test/1.0", limits=limits or FetchLimits(connect_timeout=2, total_timeout=5, attempts=2, backoff_base=0.05),
            global_concurrency=global_concurrency, pinned_hosts=pinned or {}, **config,
        ),
        parsed, seen={}, feeds={}, later={}, publish_raw=publish_raw, publish_task=publish_task, dead_letter=dead_letter,
    )
    harness = CrawlHarness(crawler)
    return harness


@pytest.fixture
async def harnesses() -> AsyncIterator[list[CrawlHarness]]:
    made: list[CrawlHarness] = []
    yield made
    for h in made:
        await h.crawler.close()


@dataclass
class SilentServer:
    """A local TCP server that accepts connections and never answers (a stalled site)."""

    port: int
    connections: list[asyncio.StreamWriter]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


SILENT_SOURCE = {"sources": [{"name": "s", "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True,
                              "politeness": {"respect_robots": False}}]}


@pytest.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    connections: list[asyncio.StreamWriter] = []
    handlers: list[asyncio.Task[Any]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await asyncio.sleep(3600)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        yield SilentServer(server.sockets[0].getsockname()[1], connections)
    finally:
        server.close()
        for w in connections:
            w.close()
        # The handlers would otherwise sleep on until the loop is torn down.
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

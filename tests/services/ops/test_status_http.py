"""`newsflow status` I/O over real HTTP: a local server plays a service's /metrics, /livez, /readyz."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from services.common.settings import KafkaSettings
from services.ops.status import Options, run, scrape_all


class LocalService:
    """Serves its own registry like a newsflow service does (real HTTP, real exposition format)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter("newsflow_events_in_total", "", ["stage", "topic"], registry=self.registry)
        self.ready_gauge = Gauge("newsflow_ready", "", ["stage"], registry=self.registry)
        self.ready = True

    def app(self) -> web.Application:
        async def metrics(request: web.Request) -> web.Response:
            return web.Response(body=generate_latest(self.registry), content_type="text/plain")

        async def livez(request: web.Request) -> web.Response:
            return web.json_response({"live": True})

        async def readyz(request: web.Request) -> web.Response:
            return web.json_response({"ready": self.ready}, status=200 if self.ready else 503)

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/livez", livez)
        app.router.add_get("/readyz", readyz)
        return app


@pytest.fixture
async def service() -> AsyncIterator[tuple[LocalService, str]]:
    local = LocalService()
    runner = web.AppRunner(local.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield local, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def options(url: str, window: float = 0.0) -> Options:
    return Options(urls={"parser": [url]}, kafka=KafkaSettings(bootstrap="127.0.0.1:1"), group_overrides={},
                   window=window, timeout=2.0, use_kafka=False)


async def test_watch_redraws_with_rates_over_the_refresh_interval(service) -> None:  # type: ignore[no-untyped-def]
    local, url = service
    counter = local.events_in.labels("parser", "news.pages.raw.v1")

    async def traffic() -> None:
        while True:
            counter.inc(5)
            await asyncio.sleep(0.05)

    out = io.StringIO()
    producer = asyncio.ensure_future(traffic())
    watcher = asyncio.ensure_future(run(options(url), as_json=True, watch=0.3, out=out))
    await asyncio.sleep(1.6)
    watcher.cancel()
    producer.cancel()
    await asyncio.gather(watcher, producer, return_exceptions=True)
    frames = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(frames) >= 3
    assert frames[0]["window_seconds"] is None and frames[0]["stages"][0]["events_in_per_second"] is None
    for frame in frames[1:]:
        stage = frame["stages"][0]
        assert 0.2 < frame["window_seconds"] < 0.6
        assert 20 < stage["events_in_per_second"] < 200  # ~100/s; loose bounds, CI machines stall
        assert stage["live"] and stage["ready"]
    assert frames[-1]["stages"][0]["events_in_total"] > frames[0]["stages"][0]["events_in_total"]


async def test_one_shot_table_and_exit_status(service) -> None:  # type: ignore[no-untyped-def]
    local, url = service
    out = io.StringIO()
    assert await run(options(url, window=0.2), as_json=False, watch=None, out=out) == 0
    assert out.getvalue().splitlines()[4].startswith("parser")
    local.ready = False
    out = io.StringIO()
    assert await run(options(url, window=0.2), as_json=False, watch=None, out=out) == 1
    assert "UNHEALTHY" in out.getvalue()


async def test_an_unreachable_service_is_down_not_an_error(service) -> None:  # type: ignore[no-untyped-def]
    _, url = service
    result = await scrape_all({"parser": [url, "http://127.0.0.1:1"]}, timeout=2.0)
    up, down = result["parser"]
    assert up.samples is not None and up.live and up.ready
    assert down.samples is None and not down.live and not down.ready and "unreachable" in (down.error or "")

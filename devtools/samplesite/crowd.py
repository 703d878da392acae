"""A crowd of generated news sites on one local port, told apart by host name.

Each host `hNN.crowd.test` serves robots.txt (with a Crawl-delay and a Sitemap line),
an RSS feed of its latest pages, a sitemap index with two child sitemaps, and `pages`
generated articles (JSON-LD, headline, byline, date, Russian or English body). Some
hosts answer slowly, some answer 503 in bursts, one answers its first article request
with `Retry-After: 99999999999`. Every request is logged as one JSON line (time, host,
path, status), so a test can check the gaps a crawler left between two requests to a
host, and whether hosts were crawled in parallel.

The scraper reaches the hosts through `NEWSFLOW_SCRAPER_PINNED_HOSTS` (printed by
`--print-pinned`), the sources come from `--sources-out`:

    python -m devtools.samplesite.crowd --hosts 20 --pages 100 --port 8900 \\
        --log requests.jsonl --sources-out crowd-sources.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import escape

import yaml
from aiohttp import web

DOMAIN = "crowd.test"
EPOCH = datetime(2025, 10, 20, 6, 0, tzinfo=timezone.utc)

_RU = ("Городская администрация", "Депутаты областной думы", "Жители микрорайона", "Представители компании", "Эксперты отрасли")
_RU_VERBS = ("обсудили", "одобрили", "раскритиковали", "представили", "отложили")
_RU_THINGS = ("проект реконструкции набережной", "бюджет на следующий год", "новый маршрут трамвая", "план ремонта школ",
              "программу озеленения дворов")
_EN = ("The city council", "Regional lawmakers", "Residents of the estate", "Company representatives", "Industry experts")
_EN_VERBS = ("discussed", "approved", "criticised", "presented", "postponed")
_EN_THINGS = ("the riverside redevelopment", "next year's budget", "a new tram route", "the school repair plan", "a tree planting scheme")


@dataclass(frozen=True)
class HostPlan:
    """How one generated host behaves."""

    name: str
    crawl_delay: float
    language: str
    slow: float = 0.0
    """Seconds every answer takes."""
    burst: bool = False
    """Article requests number 3–4 of every 10 answer 503 (no Retry-After)."""
    long_retry_after: bool = False
    """The first request for its first article answers 503 with Retry-After: 99999999999."""


def plan_hosts(hosts: int, *, crawl_delay: float, slow_hosts: int, slow_seconds: float, burst_hosts: int, seed: int = 7) -> list[HostPlan]:
    """`hosts` host plans: the first `slow_hosts` slow, the next `burst_hosts` bursty, the last one with a long Retry-After."""
    rng = random.Random(seed)
    plans = []
    for i in range(hosts):
        plans.append(HostPlan(
            name=f"h{i:02d}.{DOMAIN}",
            crawl_delay=round(crawl_delay * rng.uniform(0.8, 1.2), 3),
            language="ru" if i % 2 == 0 else "en",
            slow=slow_seconds if i < slow_hosts else 0.0,
            burst=slow_hosts <= i < slow_hosts + burst_hosts,
            long_retry_after=i == hosts - 1,
        ))
    return plans


def article_path(index: int) -> str:
    return f"/news/{index:04d}/"


def render_article(plan: HostPlan, index: int, base: str) -> str:
    """A complete article page; text differs per host and page so story clustering keeps them apart."""
    rng = random.Random(f"{plan.name}/{index}")
    subjects, verbs, things = (_RU, _RU_VERBS, _RU_THINGS) if plan.language == "ru" else (_EN, _EN_VERBS, _EN_THINGS)
    title_thing = rng.choice(things)
    code = hashlib.sha256(f"{plan.name}{index}".encode()).hexdigest()[:8]
    title = (f"{rng.choice(subjects)} {rng.choice(verbs)} {title_thing} — выпуск {code}" if plan.language == "ru"
             else f"{rng.choice(subjects)} {rng.choice(verbs)} {title_thing}, report {code}")
    paragraphs = []
    for p in range(6):
        words = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(things)}" for _ in range(3))
        paragraphs.append(f"<p>{escape(words)}. {'Номер' if plan.language == 'ru' else 'Reference'} {code}-{p}.</p>")
    published = EPOCH - timedelta(minutes=7 * index)
    url = base + article_path(index)
    author = "Анна Смирнова" if plan.language == "ru" else "Ruth Calloway"
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "datePublished": published.isoformat(),
                     "author": {"@type": "Person", "name": author}, "mainEntityOfPage": url, "inLanguage": plan.language}, ensure_ascii=False)
    return (
        f'<!doctype html><html lang="{plan.language}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<link rel="canonical" href="{escape(url)}"><script type="application/ld+json">{ld}</script></head>'
        f'<body><article><h1>{escape(title)}</h1><p class="byline">{author}</p>'
        f'<time datetime="{published.isoformat()}">{published:%Y-%m-%d %H:%M}</time>{"".join(paragraphs)}</article></body></html>'
    )


class CrowdSite:
    """The crowd on 127.0.0.1:`port`; `async with CrowdSite(...) as crowd: crowd.sources()`."""

    def __init__(self, plans: list[HostPlan], pages: int, *, port: int = 0, host: str = "127.0.0.1",
                 log_path: Path | None = None, feed_items: int = 20) -> None:
        self.plans = {p.name: p for p in plans}
        self.pages = pages
        self.port = port
        self.host = host
        self.feed_items = feed_items
        self.log_path = log_path
        self._log: TextIO | None = None
        self._runner: web.AppRunner | None = None
        self._article_requests: dict[str, int] = {}
        self._told_to_wait: set[str] = set()

    def base(self, name: str) -> str:
        return f"http://{name}:{self.port}"

    def pinned(self) -> str:
        """The value for NEWSFLOW_SCRAPER_PINNED_HOSTS."""
        return ",".join(f"{name}={self.host}" for name in self.plans)

    def article_urls(self) -> list[str]:
        return [self.base(name) + article_path(i) for name in self.plans for i in range(self.pages)]

    def sources(self, *, poll_interval: float = 3600) -> dict[str, Any]:
        """A sources file crawling every host through its feed and its sitemap index."""
        return {
            "user_agent": "newsflow-crowd/0.1 (+https://newsflow.invalid/bot)",
            "defaults": {"poll_interval": poll_interval, "politeness": {"min_delay": 0.0, "max_concurrency": 1}},
            "sources": [
                {"name": name.split(".")[0], "feeds": [self.base(name) + "/feed.xml"], "sitemaps": [self.base(name) + "/sitemap.xml"],
                 "allowed_domains": [name], "language": plan.language, "timezone": "Europe/Moscow"}
                for name, plan in self.plans.items()
            ],
        }

    # -- serving ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        name = (request.host or "").split(":")[0].lower()
        plan = self.plans.get(name)
        response = await self._answer(plan, request) if plan else web.Response(status=404, text="unknown host")
        if self._log is not None:
            self._log.write(json.dumps({"t": round(arrived, 4), "host": name, "path": request.path, "status": response.status}) + "\n")
            self._log.flush()
        return response

    async def _answer(self, plan: HostPlan, request: web.Request) -> web.StreamResponse:
        if plan.slow:
            await asyncio.sleep(plan.slow)
        base = self.base(plan.name)
        path = request.path
        if path == "/robots.txt":
            return web.Response(text=f"User-agent: *\nCrawl-delay: {plan.crawl_delay}\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n",
                                content_type="text/plain")
        if path == "/feed.xml":
            return web.Response(body=self._feed(plan, base).encode(), headers={"Content-Type": "application/rss+xml; charset=utf-8"})
        if path == "/sitemap.xml":
            children = "".join(f"<sitemap><loc>{base}/sitemap-{n}.xml</loc></sitemap>" for n in (1, 2))
            return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>')
        if path in ("/sitemap-1.xml", "/sitemap-2.xml"):
            half = (self.pages + 1) // 2
            indices = range(half) if path == "/sitemap-1.xml" else range(half, self.pages)
            urls = "".join(f"<url><loc>{base}{article_path(i)}</loc></url>" for i in indices)
            return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')
        if path.startswith("/news/"):
            try:
                index = int(path.strip("/").split("/")[1])
            except (IndexError, ValueError):
                return web.Response(status=404)
            if not 0 <= index < self.pages or path != article_path(index):
                return web.Response(status=404)
            count = self._article_requests[plan.name] = self._article_requests.get(plan.name, 0) + 1
            if plan.long_retry_after and index == 0 and plan.name not in self._told_to_wait:
                self._told_to_wait.add(plan.name)
                return web.Response(status=503, headers={"Retry-After": "99999999999"}, text="come back much later")
            if plan.burst and count % 10 in (3, 4):
                return web.Response(status=503, text="busy")
            published = EPOCH - timedelta(minutes=7 * index)
            return web.Response(body=render_article(plan, index, base).encode(),
                                headers={"Content-Type": "text/html; charset=utf-8", "Last-Modified": format_datetime(published, usegmt=True)})
        return web.Response(status=404, text="not found")

    def _feed(self, plan: HostPlan, base: str) -> str:
        items = []
        for i in range(min(self.feed_items, self.pages)):
            published = EPOCH - timedelta(minutes=7 * i)
            items.append(f"<item><title>{plan.name} {i}</title><link>{base}{article_path(i)}</link>"
                         f"<guid isPermaLink=\"false\">{plan.name}-{i}</guid><pubDate>{format_datetime(published)}</pubDate></item>")
        return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{plan.name}</title>{"".join(items)}</channel></rss>'

    async def start(self) -> None:
        if self.log_path is not None:
            self._log = self.log_path.open("a", encoding="utf-8")
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> CrowdSite:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _xml(text: str) -> web.Response:
    return web.Response(body=('<?xml version="1.0" encoding="UTF-8"?>' + text).encode(), headers={"Content-Type": "application/xml; charset=utf-8"})


def read_log(path: Path) -> list[dict[str, Any]]:
    """The request log: one dict per request, in the order they were answered."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request_gaps(log: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per host, the seconds between the arrivals of consecutive requests."""
    by_host: dict[str, list[float]] = {}
    for entry in log:
        by_host.setdefault(entry["host"], []).append(entry["t"])
    return {host: [b - a for a, b in zip(times, times[1:])] for host, times in by_host.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.samplesite.crowd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100, help="articles per host")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--crawl-delay", type=float, default=0.5, help="robots.txt Crawl-delay (±20 %% per host)")
    parser.add_argument("--slow-hosts", type=int, default=2)
    parser.add_argument("--slow-seconds", type=float, default=0.3)
    parser.add_argument("--burst-hosts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    parser.add_argument("--sources-out", type=Path, help="write a sources file for the crowd here")
    parser.add_argument("--poll-interval", type=float, default=3600)
    parser.add_argument("--print-pinned", action="store_true", help="print the NEWSFLOW_SCRAPER_PINNED_HOSTS value and exit")
    args = parser.parse_args(argv)
    plans = plan_hosts(args.hosts, crawl_delay=args.crawl_delay, slow_hosts=args.slow_hosts, slow_seconds=args.slow_seconds,
                       burst_hosts=args.burst_hosts, seed=args.seed)
    crowd = CrowdSite(plans, args.pages, port=args.port, log_path=args.log)
    if args.print_pinned:
        print(crowd.pinned())
        return
    if args.sources_out:
        args.sources_out.write_text(yaml.safe_dump(crowd.sources(poll_interval=args.poll_interval), sort_keys=False))

    async def serve() -> None:
        await crowd.start()
        print(f"crowd of {len(plans)} hosts × {args.pages} pages on http://127.0.0.1:{crowd.port} (hosts h00.{DOMAIN} …)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await crowd.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

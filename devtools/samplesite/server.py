"""The bundled sample news site: four fictional outlets served on 127.0.0.1.

Pages come from `site/pages/`, described by `site/manifest.yaml`. Feeds are generated
from the manifest for the URL the site is served at: RSS 2.0, Atom, a Google News
sitemap, a plain sitemap and a sitemap index, plus robots.txt. Responses carry ETag
and Last-Modified and answer conditional requests with 304, as a real CMS would.

    python -m devtools.samplesite --port 8800      # serve until interrupted
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from aiohttp import web

SITE_DIR = Path(__file__).resolve().parent / "site"
PLACEHOLDER = b"{{BASE_URL}}"
# Feeds change when the site is re-rendered; a fixed instant keeps ETags stable across runs.
SITE_UPDATED = datetime(2025, 10, 20, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Outlet:
    id: str
    name: str
    language: str
    timezone: str
    feed: str
    path_prefix: str


@dataclass(frozen=True)
class SamplePage:
    id: str
    outlet: str
    path: str
    file: str
    encoding: str
    charset_in_header: bool
    kind: str
    published_at: datetime | None
    modified_at: datetime | None
    feed_title: str
    feed_summary: str
    story: str | None
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def is_article(self) -> bool:
        return self.kind == "article"


@dataclass(frozen=True)
class Manifest:
    outlets: dict[str, Outlet]
    pages: list[SamplePage]

    def articles(self) -> list[SamplePage]:
        return [p for p in self.pages if p.is_article]

    def by_path(self) -> dict[str, SamplePage]:
        return {p.path: p for p in self.pages}

    def feed_path(self, outlet: Outlet) -> str:
        return {
            "rss": f"{outlet.path_prefix}rss.xml",
            "atom": f"{outlet.path_prefix}atom.xml",
            "news-sitemap": f"{outlet.path_prefix}news-sitemap.xml",
            "sitemap": f"{outlet.path_prefix}sitemap.xml",
        }[outlet.feed]


def _dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def load_manifest(site_dir: Path = SITE_DIR) -> Manifest:
    raw = yaml.safe_load((site_dir / "manifest.yaml").read_text(encoding="utf-8"))
    outlets = {o["id"]: Outlet(**{k: o[k] for k in Outlet.__dataclass_fields__}) for o in raw["outlets"]}
    pages = [
        SamplePage(
            id=a["id"],
            outlet=a["outlet"],
            path=a["path"],
            file=a["file"],
            encoding=a.get("encoding", "utf-8"),
            charset_in_header=bool(a.get("charset_in_header", True)),
            kind=a.get("kind", "article"),
            published_at=_dt(a.get("published_at")),
            modified_at=_dt(a.get("modified_at")),
            feed_title=a.get("feed_title") or a.get("expected", {}).get("title", ""),
            feed_summary=a.get("feed_summary", ""),
            story=a.get("story"),
            expected=a.get("expected") or {},
        )
        for a in raw["articles"]
    ]
    return Manifest(outlets, pages)


# --------------------------------------------------------------------------- feeds


def render_rss(manifest: Manifest, outlet: Outlet, base: str) -> str:
    items = []
    for page in _outlet_articles(manifest, outlet):
        items.append(
            "<item>"
            f"<title>{escape(page.feed_title)}</title>"
            f"<link>{escape(base + page.path)}</link>"
            f'<guid isPermaLink="false">{escape(outlet.id)}-{escape(page.id)}</guid>'
            f"<pubDate>{format_datetime(page.published_at)}</pubDate>"  # type: ignore[arg-type]
            f"<description>{escape(page.feed_summary)}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(outlet.name)}</title><link>{escape(base + outlet.path_prefix)}</link>"
        f"<language>{outlet.language}</language><description>{escape(outlet.name)}</description>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def render_atom(manifest: Manifest, outlet: Outlet, base: str) -> str:
    entries = []
    for page in _outlet_articles(manifest, outlet):
        updated = page.modified_at or page.published_at
        entries.append(
            "<entry>"
            f"<title>{escape(page.feed_title)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(base + page.path)}"/>'
            f"<id>tag:{escape(outlet.id)}.sample,2025:{escape(page.id)}</id>"
            f"<published>{page.published_at.isoformat()}</published>"  # type: ignore[union-attr]
            f"<updated>{updated.isoformat()}</updated>"  # type: ignore[union-attr]
            f"<summary>{escape(page.feed_summary)}</summary>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(outlet.name)}</title><id>tag:{escape(outlet.id)}.sample,2025:feed</id>"
        f'<link rel="self" href="{escape(base + manifest.feed_path(outlet))}"/>'
        f"<updated>{SITE_UPDATED.isoformat()}</updated>" + "".join(entries) + "</feed>\n"
    )


def render_news_sitemap(manifest: Manifest, outlet: Outlet, base: str) -> str:
    urls = []
    for page in _outlet_articles(manifest, outlet):
        urls.append(
            f"<url><loc>{escape(base + page.path)}</loc><news:news>"
            f"<news:publication><news:name>{escape(outlet.name)}</news:name>"
            f"<news:language>{outlet.language}</news:language></news:publication>"
            f"<news:publication_date>{page.published_at.isoformat()}</news:publication_date>"  # type: ignore[union-attr]
            f"<news:title>{escape(page.feed_title)}</news:title></news:news></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(urls) + "</urlset>\n"
    )


def render_sitemap(pages: list[SamplePage], base: str) -> str:
    urls = []
    for page in pages:
        lastmod = page.modified_at or page.published_at
        urls.append(
            f"<url><loc>{escape(base + page.path)}</loc>"
            + (f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else "")
            + "</url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(urls)
        + "</urlset>\n"
    )


def render_sitemap_index(paths: list[str], base: str) -> str:
    items = "".join(
        f"<sitemap><loc>{escape(base + p)}</loc><lastmod>{SITE_UPDATED.isoformat()}</lastmod></sitemap>"
        for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + items
        + "</sitemapindex>\n"
    )


def _outlet_articles(manifest: Manifest, outlet: Outlet) -> list[SamplePage]:
    pages = [p for p in manifest.articles() if p.outlet == outlet.id]
    return sorted(pages, key=lambda p: p.published_at or SITE_UPDATED, reverse=True)


# --------------------------------------------------------------------------- server


class SampleSite:
    """The sample site on 127.0.0.1; use as `async with SampleSite() as site: site.base_url`."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", site_dir: Path = SITE_DIR) -> None:
        self.host = host
        self.port = port
        self.site_dir = site_dir
        self.manifest = load_manifest(site_dir)
        self._runner: web.AppRunner | None = None
        self._routes_cache: dict[str, tuple[str, bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _routes(self) -> dict[str, tuple[str, bytes]]:
        """Every path the site serves → (content type, body with {{BASE_URL}} substituted)."""
        base = self.base_url
        routes: dict[str, tuple[str, bytes]] = {}
        robots = (self.site_dir / "robots.txt").read_bytes().replace(PLACEHOLDER, base.encode())
        routes["/robots.txt"] = ("text/plain; charset=utf-8", robots)
        sitemaps = []
        for outlet in self.manifest.outlets.values():
            path = self.manifest.feed_path(outlet)
            if outlet.feed == "rss":
                routes[path] = ("application/rss+xml; charset=utf-8", render_rss(self.manifest, outlet, base).encode())
            elif outlet.feed == "atom":
                routes[path] = ("application/atom+xml; charset=utf-8", render_atom(self.manifest, outlet, base).encode())
            elif outlet.feed == "news-sitemap":
                routes[path] = ("application/xml; charset=utf-8", render_news_sitemap(self.manifest, outlet, base).encode())
                sitemaps.append(path)
            else:
                pages = [p for p in self.manifest.articles() if p.outlet == outlet.id]
                routes[path] = ("application/xml; charset=utf-8", render_sitemap(pages, base).encode())
                sitemaps.append(path)
        sections = [p for p in self.manifest.pages if not p.is_article]
        if sections:
            routes["/sitemap-sections.xml"] = ("application/xml; charset=utf-8", render_sitemap(sections, base).encode())
            sitemaps.append("/sitemap-sections.xml")
        routes["/sitemap.xml"] = ("application/xml; charset=utf-8", render_sitemap_index(sitemaps, base).encode())
        for page in self.manifest.pages:
            body = (self.site_dir / page.file).read_bytes().replace(PLACEHOLDER, base.encode())
            ctype = f"text/html; charset={page.encoding}" if page.charset_in_header else "text/html"
            routes[page.path] = (ctype, body)
        return routes

    def _last_modified(self, path: str) -> datetime:
        page = self.manifest.by_path().get(path)
        if page and (page.modified_at or page.published_at):
            return (page.modified_at or page.published_at).astimezone(timezone.utc)  # type: ignore[union-attr]
        return SITE_UPDATED

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        routes = self._routes_cache
        path = request.path
        if path not in routes and not path.endswith("/") and path + "/" in routes:
            raise web.HTTPMovedPermanently(location=path + "/")
        if path not in routes:
            raise web.HTTPNotFound(text="not found")
        ctype, body = routes[path]
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        last_modified = self._last_modified(path)
        headers = {"ETag": etag, "Last-Modified": format_datetime(last_modified, usegmt=True), "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        ims = request.headers.get("If-Modified-Since")
        if ims and "If-None-Match" not in request.headers:
            from email.utils import parsedate_to_datetime

            try:
                if parsedate_to_datetime(ims) >= last_modified.replace(microsecond=0):
                    return web.Response(status=304, headers=headers)
            except (TypeError, ValueError):
                pass
        response = web.Response(body=body, headers={**headers, "Content-Type": ctype})
        response.enable_compression()
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._routes_cache = self._routes()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SampleSite:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.samplesite")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)
    args = parser.parse_args(argv)

    async def serve() -> None:
        site = SampleSite(port=args.port, host=args.host)
        await site.start()
        print(f"sample site on {site.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await site.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

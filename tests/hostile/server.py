"""Serves the hostile corpus over HTTP, with a sitemap that puts a good article after each page.

    python -m tests.hostile.server --port 8999

/sitemap.xml lists /hostile/<name> and /good/<n> alternately; /hostile/<name> answers with the
page's bytes, content type and content encoding (bombs included); /good/<n> is a plain article
with a unique title. Pages are built on first request and kept.
"""

from __future__ import annotations

import argparse
import asyncio
import html

from aiohttp import web

from tests.hostile.pages import PAGES, article_html

GOOD_TITLE = "Хорошая статья номер {n} после враждебной страницы"


def good_page(n: int) -> bytes:
    return article_html(title=GOOD_TITLE.format(n=n), date="2025-10-21T12:00:00+03:00").encode()


def paths() -> list[str]:
    listed = []
    for n, page in enumerate(PAGES):
        listed += [f"/hostile/{page.name}", f"/good/{n}"]
    return listed


def make_app() -> web.Application:
    by_name = {p.name: p for p in PAGES}

    async def sitemap(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        urls = "".join(f"<url><loc>{html.escape(base + path)}</loc></url>" for path in paths())
        body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        return web.Response(body=body.encode(), content_type="application/xml")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    async def hostile(request: web.Request) -> web.Response:
        page = by_name.get(request.match_info["name"])
        if page is None:
            raise web.HTTPNotFound()
        body = await asyncio.to_thread(lambda: page.body)
        headers = {"Content-Type": page.content_type}
        if page.content_encoding:
            headers["Content-Encoding"] = page.content_encoding
        return web.Response(body=body, headers=headers)

    async def good(request: web.Request) -> web.Response:
        return web.Response(body=good_page(int(request.match_info["n"])), content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/sitemap.xml", sitemap)
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/hostile/{name}", hostile)
    app.router.add_get("/good/{n}", good)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.server")
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

"""Fetching one URL for `newsflow parse|enrich URL`, under the scraper's limits.

Only http and https, checked before any request and again on every redirect; a deadline on
the whole exchange; the body read in chunks through the bounded decoder (the scraper's size
limit and decompression guard), so a hostile server cannot make the command hold more than
the page limit plus one chunk. Every failure is a `FetchRefused` with a reason code and one
line of detail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from services.common.bounded import BoundedDecoder, DecodeRefused, PageLimits

HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchRefused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Page:
    url: str
    final_url: str
    content_type: str | None
    body: bytes


def check_scheme(url: str) -> None:
    """Raises FetchRefused unless `url` is an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchRefused("unsupported-url", f"{url[:200]!r} is not an http(s) URL; only http and https are fetched")


async def fetch_page(url: str, user_agent: str, limits: PageLimits, *, timeout: float = 30.0, max_redirects: int = 5) -> Page:
    """The decoded page at `url` (status 200, an HTML type); raises FetchRefused otherwise."""
    import aiohttp

    check_scheme(url)
    current = url
    headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate, br",
               "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"}
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession(auto_decompress=False, headers=headers) as session:
            for _ in range(max_redirects + 1):
                async with session.get(current, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        check_scheme(current)
                        continue
                    if response.status != 200:
                        raise FetchRefused(f"http-{response.status}", f"{current} answered HTTP {response.status}")
                    content_type = response.headers.get("content-type")
                    mime = (content_type or "text/html").split(";")[0].strip().lower()
                    if mime not in HTML_TYPES:
                        raise FetchRefused("not-html", f"{current} is {mime}, not an HTML page")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limits.max_bytes * limits.max_ratio:
                        raise FetchRefused("too-large", f"Content-Length {declared} is over the limit")
                    decoder = BoundedDecoder(response.headers.get("content-encoding"), limits)
                    async for chunk in response.content.iter_chunked(limits.chunk):
                        decoder.feed(chunk)
                    return Page(url, current, content_type, decoder.finish())
            raise FetchRefused("too-many-redirects", f"more than {max_redirects} redirects from {url}")
    except DecodeRefused as exc:
        raise FetchRefused(exc.reason, exc.detail) from None
    except TimeoutError:
        raise FetchRefused("timeout", f"no complete answer from {current} within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise FetchRefused("fetch-failed", f"{current}: {type(exc).__name__}: {exc}") from None

"""Fetching one URL robustly: timeouts, size limits, decompression guard, redirects, retries.

The fetcher never raises for a bad page: it returns a `Fetched` (any HTTP status,
including 304) or a `FetchFailed` with a reason code. `retryable` on a failure says
whether trying again later may help (timeouts, 5xx, 429) or not (too large, bomb,
forbidden address, wrong content type).

- connect timeout and a deadline on the whole response (a server that trickles
  bytes forever is cut off),
- redirects followed by hand (limit configurable) so every hop is re-checked
  against the address policy and the source's allowed domains,
- the body is read in chunks and cut at `max_bytes`; gzip/deflate/brotli are
  decoded incrementally with the same limit on the output and a ratio guard, so a
  decompression bomb is refused after a few megabytes rather than filling memory,
- content types other than HTML/XML are refused before the body is read.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal

import aiohttp
import brotli
from yarl import URL

from services.scraper.safety import ForbiddenAddress, GuardedResolver, check_host
from services.scraper.urls import host_of

KEPT_HEADERS = ("content-type", "content-language", "etag", "last-modified", "date", "content-length", "retry-after")
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml")

Expect = Literal["html", "xml", "any"]


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    max_ratio: int = 100
    """Refuse compressed bodies that expand more than this many times (bombs)."""
    attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


@dataclass
class Fetched:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: float
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


@dataclass
class FetchFailed:
    url: str
    reason: str
    detail: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None
    partial_body: bytes | None = None
    final_url: str | None = None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class _TooLarge(Exception):
    def __init__(self, partial: bytes) -> None:
        self.partial = partial


class _Bomb(Exception):
    pass


class _Decoder:
    """Incremental content decoding with an output budget."""

    def __init__(self, encoding: str | None, max_bytes: int, max_ratio: int) -> None:
        self.encoding = (encoding or "identity").lower().strip()
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.compressed_in = 0
        self.out = bytearray()
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()
        elif self.encoding == "br":
            self._z = brotli.Decompressor()
        elif self.encoding in ("identity", ""):
            self._z = None
        else:
            raise ValueError(f"unsupported content-encoding {encoding!r}")

    def feed(self, chunk: bytes) -> None:
        self.compressed_in += len(chunk)
        if self._z is None:
            self._append(chunk)
            return
        if isinstance(self._z, brotli.Decompressor):
            # brotli has no output cap per call; feed in slices so one call cannot explode.
            for i in range(0, len(chunk), 1024):
                self._append(self._z.process(chunk[i : i + 1024]))
            return
        data = chunk
        while data:
            budget = self.max_bytes - len(self.out) + 1
            self._append(self._z.decompress(data, max(1, budget)))
            data = self._z.unconsumed_tail

    def _append(self, data: bytes) -> None:
        self.out.extend(data)
        if self._z is not None and len(self.out) > 1024 * 1024 and len(self.out) > self.max_ratio * max(1, self.compressed_in):
            raise _Bomb()
        if len(self.out) > self.max_bytes:
            raise _TooLarge(bytes(self.out[: self.max_bytes]))


class Fetcher:
    """One HTTP client per scraper process (two connection pools: strict and private-allowed)."""

    def __init__(self, user_agent: str, limits: FetchLimits | None = None, pinned_hosts: dict[str, str] | None = None) -> None:
        self.user_agent = user_agent
        self.limits = limits or FetchLimits()
        self.pinned_hosts = {k.lower(): v for k, v in (pinned_hosts or {}).items()}
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _session(self, allow_private: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(allow_private)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private, self.pinned_hosts), limit=100, limit_per_host=8, ttl_dns_cache=300
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                headers={
                    "User-Agent": self.user_agent,
                    "Accept-Encoding": "gzip, deflate, br",
                    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                    "Accept-Language": "ru,en;q=0.8,*;q=0.5",
                },
            )
            self._sessions[allow_private] = session
        return session

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def fetch(
        self,
        url: str,
        *,
        allow_private: bool = False,
        allowed_host=None,  # type: ignore[no-untyped-def]
        conditional: dict[str, str] | None = None,
        expect: Expect = "any",
    ) -> Fetched | FetchFailed:
        """Fetch with bounded retries and jittered exponential backoff on retryable failures.

        A 429/503 with Retry-After is returned to the caller (the host scheduler slows
        the host down) instead of being retried here.
        """
        for attempt in range(self.limits.attempts):
            last_attempt = attempt + 1 == self.limits.attempts
            result = await self.fetch_once(
                url, allow_private=allow_private, allowed_host=allowed_host, conditional=conditional, expect=expect
            )
            if isinstance(result, Fetched):
                throttled = result.status in (429, 503) and result.retry_after() is not None
                if result.status >= 500 and not throttled and not last_attempt:
                    await self._backoff(attempt)
                    continue
                return result
            if not result.retryable or last_attempt:
                return result
            await self._backoff(attempt)
        raise AssertionError("unreachable: the last attempt always returns")

    async def _backoff(self, attempt: int) -> None:
        delay = min(self.limits.backoff_cap, self.limits.backoff_base * (2**attempt))
        await asyncio.sleep(random.uniform(delay / 2, delay))

    async def fetch_once(
        self,
        url: str,
        *,
        allow_private: bool = False,
        allowed_host=None,  # type: ignore[no-untyped-def]
        conditional: dict[str, str] | None = None,
        expect: Expect = "any",
    ) -> Fetched | FetchFailed:
        limits = self.limits
        started = time.perf_counter()
        session = self._session(allow_private)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout, sock_read=limits.total_timeout)
        current = url
        redirects: list[str] = []
        try:
            async with asyncio.timeout(limits.total_timeout):
                while True:
                    host = host_of(current)
                    if host not in self.pinned_hosts:
                        check_host(host, allow_private)
                    if allowed_host is not None and redirects and not allowed_host(host):
                        return FetchFailed(url, "redirect-off-site", f"redirect to {current} leaves the source's domains", False, final_url=current)
                    headers = dict(conditional or {}) if not redirects else {}
                    async with session.get(current, headers=headers, allow_redirects=False, timeout=timeout) as resp:
                        if resp.status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                            if len(redirects) >= limits.max_redirects:
                                return FetchFailed(url, "too-many-redirects", f"more than {limits.max_redirects} redirects", False, final_url=current)
                            redirects.append(current)
                            current = str(resp.url.join(URL(resp.headers["location"])))
                            if not current.startswith(("http://", "https://")):
                                return FetchFailed(url, "bad-redirect", f"redirect to non-http URL {current}", False)
                            continue
                        kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
                        if resp.status == 200:
                            refusal = _content_type_refusal(kept.get("content-type"), expect)
                            if refusal:
                                return FetchFailed(url, "unsupported-content-type", refusal, False, status=200, final_url=current)
                            declared = kept.get("content-length")
                            if declared and declared.isdigit() and int(declared) > limits.max_bytes * limits.max_ratio:
                                return FetchFailed(url, "too-large", f"Content-Length {declared} exceeds the limit", False, status=200, final_url=current)
                        body = await self._read_body(resp)
                        return Fetched(
                            url=url,
                            final_url=current,
                            status=resp.status,
                            headers=kept,
                            body=body,
                            elapsed_ms=(time.perf_counter() - started) * 1000,
                            redirects=redirects,
                        )
        except _TooLarge as exc:
            return FetchFailed(url, "too-large", f"body exceeds {limits.max_bytes} bytes; cut at the limit", False, status=200, partial_body=exc.partial, final_url=current)
        except _Bomb:
            return FetchFailed(url, "decompression-bomb", f"compressed body expands more than {limits.max_ratio}x", False, final_url=current)
        except ForbiddenAddress as exc:
            return FetchFailed(url, "forbidden-address", str(exc), False, final_url=current)
        except (TimeoutError, asyncio.TimeoutError):
            return FetchFailed(url, "timeout", f"no complete response within {limits.total_timeout}s", True, final_url=current)
        except ValueError as exc:
            return FetchFailed(url, "bad-response", str(exc), False, final_url=current)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddress):
                return FetchFailed(url, "forbidden-address", str(exc.os_error), False, final_url=current)
            return FetchFailed(url, "connect-failed", str(exc), True, final_url=current)
        except (aiohttp.ClientError, OSError) as exc:
            return FetchFailed(url, "transport-error", f"{type(exc).__name__}: {exc}", True, final_url=current)

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        decoder = _Decoder(resp.headers.get("content-encoding"), self.limits.max_bytes, self.limits.max_ratio)
        async for chunk in resp.content.iter_chunked(64 * 1024):
            decoder.feed(chunk)
        return bytes(decoder.out)


def _content_type_refusal(content_type: str | None, expect: Expect) -> str | None:
    if expect == "any" or not content_type:
        return None
    mime = content_type.split(";")[0].strip().lower()
    if expect == "html" and (mime in HTML_TYPES or mime.startswith("text/")):
        return None
    if expect == "xml" and (mime in XML_TYPES or mime.endswith("+xml") or mime.startswith("text/")):
        return None
    return f"content type {mime!r} is not {'HTML' if expect == 'html' else 'XML'}"

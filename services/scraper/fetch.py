"""One HTTP request, bounded: time, size, decompression, addresses, content type.

`Fetcher.fetch` makes exactly one request and never raises for a bad page: it returns
a `Fetched` (any HTTP status, including 304 and redirects, whose target is in
`location`) or a `FetchFailed` with a reason code. It neither retries nor follows
redirects: a retry or a redirect is a new request that the crawler schedules on the
host's politeness queue like any other (services/scraper/crawler.py), so the gap
between two requests to a host holds for every request.

- a connect timeout and a deadline on the whole response (a server that trickles
  bytes forever is cut off after `timeout`),
- the body is read in chunks and cut at `max_bytes`; gzip, deflate (zlib-wrapped or
  raw) and brotli are decoded incrementally with the OUTPUT of every decoder call
  capped at one chunk, so a decompression bomb never holds more than the page limit
  plus one chunk, and a ratio guard refuses it after a few megabytes; a truncated
  stream, trailing garbage or corrupt data is a `decode-error` (bad data, not retried),
- content types other than HTML/XML are refused before the body is read,
- every host is checked against the address guard (services/scraper/safety.py) by
  name before the request and by the resolved address when connecting.
"""

from __future__ import annotations

import asyncio
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

KEPT_HEADERS = ("content-type", "content-language", "etag", "last-modified", "date", "content-length", "retry-after", "location")
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
READ_CHUNK = 64 * 1024
"""Bytes read from the socket per step, and the most one decoder call may produce."""

Expect = Literal["html", "xml", "any"]


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    """Deadline of one request, from connecting to the last body byte."""
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    max_ratio: int = 100
    """Refuse compressed bodies that expand more than this many times (bombs)."""
    attempts: int = 3
    """Requests per task for timeouts, transport errors and 5xx (each one scheduled politely)."""
    page_budget: float = 60.0
    """Seconds all requests of one task may take together (a stalling page costs at most this)."""
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    max_retry_after: float = 3600.0
    """Retry-After is honoured up to this many seconds; longer requests are capped."""
    max_throttled: int = 5
    """429/503 answers one task may get before it is dead-lettered."""


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: float

    @property
    def final_url(self) -> str:
        return self.url

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def location(self) -> str | None:
        """The absolute redirect target of a 3xx answer, or None."""
        if self.status not in REDIRECT_STATUSES or not self.headers.get("location"):
            return None
        try:
            return str(URL(self.url).join(URL(self.headers["location"].strip())))
        except (ValueError, TypeError):
            return None

    def retry_after(self, cap: float | None = None) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"), cap=cap)


@dataclass
class FetchFailed:
    url: str
    reason: str
    detail: str
    retryable: bool
    status: int | None = None
    partial_body: bytes | None = None

    @property
    def final_url(self) -> str:
        return self.url


def parse_retry_after(value: str | None, now: float | None = None, cap: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), at most `cap`.

    `Retry-After: 99999999999` or a date in the year 9999 come back as `cap`, never as
    a wait that pins a host for ever.
    """
    if not value:
        return None
    value = value.strip()[:64]
    seconds: float | None
    if value.isdigit():
        seconds = float(int(value[:12]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        try:
            seconds = max(0.0, when.timestamp() - (now if now is not None else time.time()))
        except (OverflowError, ValueError, OSError):
            seconds = float("inf")
    return min(seconds, cap) if cap is not None else seconds


class _TooLarge(Exception):
    def __init__(self, partial: bytes) -> None:
        self.partial = partial


class _Bomb(Exception):
    pass


class _DecodeError(Exception):
    pass


class UnsupportedEncoding(ValueError):
    pass


class _Decoder:
    """Incremental content decoding that never produces more than one chunk per call."""

    def __init__(self, encoding: str | None, max_bytes: int, max_ratio: int) -> None:
        self.encoding = (encoding or "identity").lower().strip()
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.compressed_in = 0
        self.out = bytearray()
        self._z: zlib._Decompress | brotli.Decompressor | None = None
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "br":
            self._z = brotli.Decompressor()
        elif self.encoding == "deflate":
            self._z = None  # zlib-wrapped or raw: decided by the first bytes
        elif self.encoding in ("identity", ""):
            self.encoding = "identity"
        else:
            raise UnsupportedEncoding(f"unsupported content-encoding {encoding!r}")

    def _budget(self) -> int:
        # One chunk at most per call, and never far past the limit.
        return max(1, min(READ_CHUNK, self.max_bytes - len(self.out) + 1))

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.compressed_in += len(chunk)
        if self.encoding == "identity":
            self._append(chunk)
            return
        if self.encoding == "deflate" and self._z is None:
            # RFC 9110 says zlib format; many servers send raw deflate. A zlib stream
            # starts with CMF/FLG whose 16-bit value is a multiple of 31.
            zlib_wrapped = len(chunk) >= 2 and chunk[0] & 0x0F == 8 and ((chunk[0] << 8) | chunk[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        try:
            if isinstance(self._z, brotli.Decompressor):
                self._feed_brotli(chunk)
            else:
                self._feed_zlib(chunk)
        except (zlib.error, brotli.error) as exc:
            raise _DecodeError(f"corrupt {self.encoding} stream: {exc}") from None

    def _feed_zlib(self, chunk: bytes) -> None:
        z = self._z
        assert isinstance(z, type(zlib.decompressobj()))
        if z.eof:
            raise _DecodeError(f"data after the end of the {self.encoding} stream")
        data = chunk
        while data:
            self._append(z.decompress(data, self._budget()))
            data = z.unconsumed_tail
            if z.eof and (data or z.unused_data):
                raise _DecodeError(f"data after the end of the {self.encoding} stream")

    def _feed_brotli(self, chunk: bytes) -> None:
        z = self._z
        assert isinstance(z, brotli.Decompressor)
        if z.is_finished():
            raise _DecodeError("data after the end of the br stream")
        self._append(z.process(chunk, output_buffer_limit=self._budget()))
        while not z.can_accept_more_data():
            self._append(z.process(b"", output_buffer_limit=self._budget()))

    def finish(self) -> bytes:
        if isinstance(self._z, brotli.Decompressor):
            if not self._z.is_finished():
                raise _DecodeError("truncated br stream")
        elif self._z is not None:
            if not self._z.eof:
                raise _DecodeError(f"truncated {self.encoding} stream")
        elif self.encoding == "deflate" and self.compressed_in:
            raise _DecodeError("truncated deflate stream")
        return bytes(self.out)

    def _append(self, data: bytes) -> None:
        self.out.extend(data)
        if self.encoding != "identity" and len(self.out) > 1024 * 1024 and len(self.out) > self.max_ratio * max(1, self.compressed_in):
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

    def check(self, url: str, allow_private: bool) -> None:
        """Raise ForbiddenAddress (or ValueError for a non-http URL) before any request."""
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url[:200]!r}")
        host = host_of(url)
        if host not in self.pinned_hosts:
            check_host(host, allow_private)

    async def fetch(
        self,
        url: str,
        *,
        allow_private: bool = False,
        conditional: dict[str, str] | None = None,
        expect: Expect = "any",
        timeout: float | None = None,
    ) -> Fetched | FetchFailed:
        """One GET of `url`, bounded by `timeout` (default: the limits' total timeout).

        Never raises for what the server does; a 3xx comes back as a `Fetched` with
        `location` set, not followed.
        """
        limits = self.limits
        deadline = min(timeout, limits.total_timeout) if timeout is not None else limits.total_timeout
        started = time.perf_counter()
        try:
            self.check(url, allow_private)
        except ForbiddenAddress as exc:
            return FetchFailed(url, "forbidden-address", str(exc), False)
        except ValueError as exc:
            return FetchFailed(url, "bad-url", str(exc), False)
        session = self._session(allow_private)
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(limits.connect_timeout, deadline), sock_read=deadline)
        try:
            async with asyncio.timeout(max(0.001, deadline)):
                async with session.get(url, headers=dict(conditional or {}), allow_redirects=False, timeout=client_timeout) as resp:
                    kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
                    if resp.status in REDIRECT_STATUSES:
                        return Fetched(url, resp.status, kept, b"", (time.perf_counter() - started) * 1000)
                    if resp.status == 200:
                        refusal = _content_type_refusal(kept.get("content-type"), expect)
                        if refusal:
                            return FetchFailed(url, "unsupported-content-type", refusal, False, status=200)
                        declared = kept.get("content-length")
                        if declared and declared.isdigit() and int(declared) > limits.max_bytes * limits.max_ratio:
                            return FetchFailed(url, "too-large", f"Content-Length {declared} exceeds the limit", False, status=200)
                    body = await self._read_body(resp)
                    return Fetched(url, resp.status, kept, body, (time.perf_counter() - started) * 1000)
        except _TooLarge as exc:
            return FetchFailed(url, "too-large", f"body exceeds {limits.max_bytes} bytes; cut at the limit", False, status=200, partial_body=exc.partial)
        except _Bomb:
            return FetchFailed(url, "decompression-bomb", f"compressed body expands more than {limits.max_ratio}x", False)
        except _DecodeError as exc:
            return FetchFailed(url, "decode-error", str(exc), False)
        except UnsupportedEncoding as exc:
            return FetchFailed(url, "unsupported-content-encoding", str(exc), False)
        except ForbiddenAddress as exc:
            return FetchFailed(url, "forbidden-address", str(exc), False)
        except (TimeoutError, asyncio.TimeoutError):
            return FetchFailed(url, "timeout", f"no complete response within {deadline:.1f}s", True)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddress):
                return FetchFailed(url, "forbidden-address", str(exc.os_error), False)
            return FetchFailed(url, "connect-failed", str(exc), True)
        except (aiohttp.ClientError, OSError) as exc:
            return FetchFailed(url, "transport-error", f"{type(exc).__name__}: {exc}", True)
        except ValueError as exc:
            return FetchFailed(url, "bad-response", str(exc), False)

    async def fetch_following(self, url: str, *, allow_private: bool = False, expect: Expect = "any") -> Fetched | FetchFailed:
        """`fetch` that follows redirects itself, for one-off fetches (`newsflow parse URL`).

        The crawler never uses it: its redirects are scheduled requests.
        """
        current = url
        for _ in range(self.limits.max_redirects + 1):
            result = await self.fetch(current, allow_private=allow_private, expect=expect)
            if not isinstance(result, Fetched) or result.location is None:
                return result
            current = result.location
        return FetchFailed(url, "too-many-redirects", f"more than {self.limits.max_redirects} redirects", False)

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        decoder = _Decoder(resp.headers.get("content-encoding"), self.limits.max_bytes, self.limits.max_ratio)
        async for chunk in resp.content.iter_chunked(READ_CHUNK):
            decoder.feed(chunk)
        return decoder.finish()


def _content_type_refusal(content_type: str | None, expect: Expect) -> str | None:
    if expect == "any" or not content_type:
        return None
    mime = content_type.split(";")[0].strip().lower()
    if expect == "html" and (mime in HTML_TYPES or mime.startswith("text/")):
        return None
    if expect == "xml" and (mime in XML_TYPES or mime.endswith("+xml") or mime.startswith("text/")):
        return None
    return f"content type {mime!r} is not {'HTML' if expect == 'html' else 'XML'}"

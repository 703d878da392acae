"""Decoding against a real local server: bombs stay near the page limit, broken streams are
dead letters with a reason (issue 10, scraper side)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib

import brotli
import pytest
from aiohttp import web

from services.scraper.crawler import page_task
from services.scraper.fetch import FetchLimits
from tests.services.scraper.conftest import LocalSite
from tests.services.scraper.test_crawler_http import RU, article, harness, source

PAGE = article("Переговоры").encode()


def brotli_bomb(gib: int = 1) -> bytes:
    compressor = brotli.Compressor(quality=5)
    zeros = b"\0" * (1 << 20)
    return b"".join(compressor.process(zeros) for _ in range(1024 * gib)) + compressor.finish()


def encoded(site: LocalSite, path: str, body: bytes, encoding: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": encoding})

    site.route(path, handler)


def deflate(data: bytes, wbits: int) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()


async def test_every_encoding_decodes_including_raw_deflate(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    encoded(site, "/gzip/", deflate(PAGE, 16 + zlib.MAX_WBITS), "gzip")
    encoded(site, "/zlib/", deflate(PAGE, zlib.MAX_WBITS), "deflate")
    encoded(site, "/raw/", deflate(PAGE, -zlib.MAX_WBITS), "deflate")
    encoded(site, "/br/", brotli.compress(PAGE), "br")
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + p, "local") for p in ("/gzip/", "/zlib/", "/raw/", "/br/")])
    assert not h.dead and len(h.raw) == 4
    assert all(RU[:40] in (r.html or "") for r in h.raw)


@pytest.mark.parametrize(("name", "encoding", "body"), [
    ("truncated-gzip", "gzip", deflate(PAGE, 16 + zlib.MAX_WBITS)[:-20]),
    ("gzip-with-trailing-garbage", "gzip", deflate(PAGE, 16 + zlib.MAX_WBITS) + b"GARBAGE" * 10),
    ("not-gzip-at-all", "gzip", b"<html>plain text that claims to be gzip</html>"),
    ("truncated-br", "br", brotli.compress(PAGE)[:-8]),
    ("br-with-trailing-garbage", "br", brotli.compress(PAGE) + b"\x00garbage"),
    ("corrupt-br", "br", b"\xff" * 64),
    ("truncated-raw-deflate", "deflate", deflate(PAGE, -zlib.MAX_WBITS)[:-10]),
])
async def test_broken_compressed_streams_are_dead_lettered_with_a_reason(site: LocalSite, harnesses, name: str, encoding: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    encoded(site, f"/{name}/", body, encoding)
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + f"/{name}/", "local")])
    [(rejected, _, _)] = h.dead
    assert rejected.reason == "decode-error", rejected
    assert encoding in rejected.detail or "stream" in rejected.detail
    assert len(site.hits_for(f"/{name}/")) == 1, "bad data is not retried"
    assert not h.raw


async def test_an_unknown_content_encoding_is_refused(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    encoded(site, "/zstd/", b"\x28\xb5\x2f\xfd" + b"x" * 100, "zstd")
    h = harness(harnesses, source(site))
    await h.run([page_task(site.base + "/zstd/", "local")])
    assert [d[0].reason for d in h.dead] == ["unsupported-content-encoding"]


async def test_a_brotli_bomb_stays_near_the_page_limit_in_memory(site: LocalSite) -> None:
    # Why (issue 10): a 1.2 KB `Content-Encoding: br` response took the fetcher to 2.6 GB RSS.
    bomb = brotli_bomb(1)
    assert len(bomb) < 2048, len(bomb)
    encoded(site, "/bomb/", bomb, "br")
    limit = 8 * 1024 * 1024
    # A fresh process, so its peak RSS belongs to this fetch alone.
    probe = textwrap.dedent(f"""
        import asyncio, json, resource, tracemalloc
        from services.scraper.fetch import Fetcher, FetchLimits
        async def main():
            fetcher = Fetcher("t", FetchLimits(max_bytes={limit}, max_ratio=10**9))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            result = await fetcher.fetch("{site.base}/bomb/", allow_private=True)
            peak = tracemalloc.get_traced_memory()[1]
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            await fetcher.close()
            print(json.dumps({{"reason": getattr(result, "reason", None), "partial": len(getattr(result, "partial_body", b"") or b""),
                              "traced_peak": peak, "rss_growth_kib": after - before, "rss_kib": after}}))
        asyncio.run(main())
    """)
    import asyncio

    process = await asyncio.create_subprocess_exec(sys.executable, "-c", probe, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    print("brotli bomb probe:", report)
    assert report["reason"] == "too-large" and report["partial"] == limit
    # The page limit (8 MiB) and its copies, plus one 64 KiB chunk: far from the gigabyte inside.
    assert report["traced_peak"] < 4 * limit, report
    assert report["rss_growth_kib"] < 64 * 1024, report


async def test_the_ratio_guard_refuses_a_bomb_before_the_limit(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    encoded(site, "/bomb/", brotli_bomb(1), "br")
    h = harness(harnesses, source(site), limits=FetchLimits(max_bytes=50 * 1024 * 1024, attempts=1))
    await h.run([page_task(site.base + "/bomb/", "local")])
    assert [d[0].reason for d in h.dead] == ["decompression-bomb"]

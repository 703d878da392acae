"""Every URL the crawler finds is checked before it becomes a task (issue 11, address guard)."""

from __future__ import annotations

from aiohttp import web

from services.scraper.crawler import feed_tasks, page_task
from tests.services.scraper.conftest import LocalSite
from tests.services.scraper.test_crawler_http import article, harness

HOSTILE = [
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", "http://metadata.google.internal/computeMetadata/v1/",
    "http://100.100.100.200/latest/meta-data/", "http://[2002:a9fe:a9fe::1]/", "http://[::ffff:169.254.169.254]/",
    "file:///etc/passwd", "ftp://news.test/x.xml", "gopher://news.test:70/", "https://elsewhere.example/sitemap.xml",
    "javascript:alert(1)",
]


def sitemap_index(children: list[str]) -> str:
    items = "".join(f"<sitemap><loc>{c.replace('&', '&amp;')}</loc></sitemap>" for c in children)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'


def urlset(urls: list[str]) -> str:
    items = "".join(f"<url><loc>{u.replace('&', '&amp;')}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'


def private_source(site: LocalSite, base: str, **extra: object) -> dict:  # type: ignore[type-arg]
    # A source that may fetch private addresses (an intranet source): the guard's second tier.
    return {"sources": [{"name": "intranet", "sitemaps": [base + "/sitemap.xml"], "allowed_domains": ["news.test", "127.0.0.1"],
                         "allow_private_addresses": True, "politeness": {"respect_robots": False, "min_delay": 0}, **extra}]}


async def test_a_sitemap_index_listing_itself_a_thousand_times_makes_no_loop_and_no_off_site_task(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    # Why: an index listing itself 1,000 times made 1,003 tasks, including off-site and file:// URLs.
    base = f"http://news.test:{site.port}"
    children = [base + "/sitemap.xml"] * 1000 + HOSTILE + [base + "/a.xml", base + "/a.xml", base + "/b.xml", base + "/nested.xml"]
    site.page("/sitemap.xml", sitemap_index(children), "application/xml")
    site.page("/nested.xml", sitemap_index([base + "/sitemap.xml", base + "/deeper.xml"]), "application/xml")
    site.page("/deeper.xml", sitemap_index([base + "/deepest.xml"]), "application/xml")
    site.page("/deepest.xml", sitemap_index([base + "/too-deep.xml"]), "application/xml")
    site.page("/a.xml", urlset([base + "/p/1/"]), "application/xml")
    site.page("/b.xml", urlset([base + "/p/2/", *HOSTILE]), "application/xml")
    site.page("/p/1/", article("p1"))
    site.page("/p/2/", article("p2"))
    published: list[str] = []
    h = harness(harnesses, private_source(site, base), pinned={"news.test": "127.0.0.1"})
    original = h.crawler.publish_task

    async def record(task):  # type: ignore[no-untyped-def]
        published.append(task.url)
        await original(task)

    h.crawler.publish_task = record
    await h.poll("intranet")

    sitemap_hits = [hit.path for hit in site.hits if hit.path.endswith(".xml")]
    assert sitemap_hits.count("/sitemap.xml") == 1, "the index is not fetched again through itself"
    assert sorted(set(sitemap_hits)) == ["/a.xml", "/b.xml", "/deeper.xml", "/deepest.xml", "/nested.xml", "/sitemap.xml"]
    assert "/too-deep.xml" not in sitemap_hits, "nesting is limited"
    assert all(u.startswith(base) for u in published), [u for u in published if not u.startswith(base)]
    assert len(published) < 12, published
    assert sorted(r.url for r in h.raw) == [base + "/p/1/", base + "/p/2/"]
    assert not h.dead


async def test_a_private_source_still_never_reaches_metadata_addresses(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    # Why: allow_private_addresses turned the whole guard off; 169.254.169.254 became reachable.
    base = f"http://news.test:{site.port}"

    def to(target: str):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound(target)
        return handler

    for i, target in enumerate(["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://metadata.google.internal/",
                                "http://[64:ff9b::a9fe:a9fe]/", "http://0.0.0.0:%d/" % site.port, "file:///etc/passwd"]):
        site.route(f"/r/{i}/", to(target))
    site.route("/r/local/", to(f"http://127.0.0.1:{site.port}/fine/"))
    site.page("/fine/", article("fine"))
    h = harness(harnesses, private_source(site, base), pinned={"news.test": "127.0.0.1"})
    await h.run([page_task(f"{base}/r/{i}/", "intranet") for i in range(6)] + [page_task(f"{base}/r/local/", "intranet")])
    reasons = sorted(d[0].reason for d in h.dead)
    assert reasons == ["bad-redirect"] + ["forbidden-address"] * 5, reasons
    assert [r.final_url for r in h.raw] == [f"http://127.0.0.1:{site.port}/fine/"], "loopback is allowed for this source"


async def test_feed_items_and_canonical_links_are_checked_against_the_sources_domains(site: LocalSite, harnesses) -> None:  # type: ignore[no-untyped-def]
    base = site.base
    items = [base + "/ok/", *HOSTILE, "http://127.0.0.2:%d/other-host/" % site.port]
    feed = '<?xml version="1.0"?><rss version="2.0"><channel>' + "".join(f"<item><link>{u}</link></item>" for u in items) + "</channel></rss>"
    site.page("/feed.xml", feed, "application/rss+xml")
    site.page("/ok/", article("ok").replace("<head>", '<head><link rel="canonical" href="http://169.254.169.254/x/">'))
    sources = {"sources": [{"name": "local", "feeds": [base + "/feed.xml"], "allowed_domains": ["127.0.0.1"],
                            "allow_private_addresses": True, "politeness": {"respect_robots": False}}]}
    h = harness(harnesses, sources)
    await h.run(feed_tasks(h.crawler.sources["local"]))
    assert [r.url for r in h.raw] == [base + "/ok/"]
    assert h.raw[0].final_url == base + "/ok/"
    assert [hit.path for hit in site.hits] == ["/feed.xml", "/ok/"]
    from services.common.ids import article_id
    from services.scraper.decisions import dedup_key

    assert h.raw[0].article_id == article_id(dedup_key(base + "/ok/")), "a canonical link to a metadata address is ignored"

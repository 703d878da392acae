from datetime import datetime, timezone

import pytest

from services.scraper.feeds import FeedError, parse_feed, parse_sitemap

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link> /a/1 </link><guid isPermaLink="false">g1</guid><pubDate>Fri, 10 Oct 2025 14:35:00 +0300</pubDate></item>
<item><title>No link</title><guid>https://n.example/a/2</guid></item>
</channel></rss>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title><link rel="alternate" href="https://n.example/x"/>
<id>tag:n,2025:x</id><updated>2025-10-10T11:35:00Z</updated></entry></feed>"""
RDF = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<item rdf:about="https://n.example/r"><title>R</title><link>https://n.example/r</link><dc:date>2025-10-10T14:35:00+03:00</dc:date></item></rdf:RDF>"""
NEWS = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://n.example/n</loc><news:news><news:publication><news:name>N</news:name><news:language>ru</news:language></news:publication>
<news:publication_date>2025-10-10T14:35:00+03:00</news:publication_date><news:title>T</news:title></news:news></url></urlset>"""


def test_rss_items_resolve_relative_links_and_permalink_guids() -> None:
    items = parse_feed(RSS, "https://n.example/rss.xml")
    assert [i.url for i in items] == ["https://n.example/a/1", "https://n.example/a/2"]
    assert items[0].guid == "g1"
    assert items[0].published_at == datetime(2025, 10, 10, 11, 35, tzinfo=timezone.utc)


def test_atom_and_rdf() -> None:
    assert parse_feed(ATOM, "https://n.example/")[0].url == "https://n.example/x"
    rdf = parse_feed(RDF, "https://n.example/")
    assert rdf[0].url == "https://n.example/r" and rdf[0].published_at is not None


def test_google_news_sitemap_carries_publication_date_and_title() -> None:
    sitemap = parse_sitemap(NEWS, "https://n.example/")
    assert sitemap.is_news and sitemap.urls[0].title == "T"
    assert sitemap.urls[0].published_at.utcoffset().total_seconds() == 3 * 3600


def test_sitemap_index_lists_children() -> None:
    data = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>/s1.xml</loc></sitemap></sitemapindex>'
    assert parse_sitemap(data, "https://n.example/sitemap.xml").sitemaps == ["https://n.example/s1.xml"]


def test_entity_expansion_is_not_performed() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><item><title>&b;</title><link>https://n.example/1</link></item></channel></rss>'
    items = parse_feed(bomb, "https://n.example/")
    assert "aaaaaaaaaa" not in (items[0].title or "")


def test_html_is_not_a_feed() -> None:
    with pytest.raises(FeedError):
        parse_feed(b"<html><body>hi</body></html>", "https://n.example/")

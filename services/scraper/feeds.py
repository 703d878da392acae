"""Reading feeds (RSS 2.0, RSS 1.0/RDF, Atom) and sitemaps (index, plain, Google News).

Pure functions over bytes. The XML parser resolves no entities and loads nothing
from the network, so a hostile feed cannot expand a billion laughs or read files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from lxml import etree

from services.scraper.urls import absolutize, clean_url_text


class FeedError(ValueError):
    """The document is not a feed or sitemap we can read; the message says why."""


@dataclass(frozen=True)
class FeedItem:
    url: str
    guid: str | None = None
    title: str | None = None
    published_at: datetime | None = None


@dataclass
class Sitemap:
    urls: list[FeedItem] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    is_news: bool = False


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


def _root(data: bytes) -> etree._Element:
    data = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not data:
        raise FeedError("empty document")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise FeedError("not an XML document")
    return root


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child(el: etree._Element, *names: str) -> etree._Element | None:
    for child in el:
        if _local(child.tag) in names:
            return child
    return None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, sitemaps); naive results are taken as UTC."""
    if not value:
        return None
    value = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def parse_feed(data: bytes, base_url: str) -> list[FeedItem]:
    """Items of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, in document order."""
    root = _root(data)
    kind = _local(root.tag)
    items: list[FeedItem] = []
    if kind == "rss":
        channel = _child(root, "channel")
        for item in channel if channel is not None else []:
            if _local(item.tag) != "item":
                continue
            items.extend(_rss_item(item, base_url))
    elif kind == "rdf":
        for item in root:
            if _local(item.tag) == "item":
                items.extend(_rss_item(item, base_url, rdf_about=item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")))
    elif kind == "feed":
        for entry in root:
            if _local(entry.tag) != "entry":
                continue
            link = None
            for child in entry:
                if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate":
                    link = child.get("href")
                    break
            if not link:
                continue
            items.append(
                FeedItem(
                    url=absolutize(base_url, clean_url_text(link)),
                    guid=_text(_child(entry, "id")),
                    title=_text(_child(entry, "title")),
                    published_at=parse_date(_text(_child(entry, "published")) or _text(_child(entry, "updated"))),
                )
            )
    else:
        raise FeedError(f"unknown feed format: root element <{kind}>")
    return items


def _rss_item(item: etree._Element, base_url: str, rdf_about: str | None = None) -> list[FeedItem]:
    link = _text(_child(item, "link")) or rdf_about
    guid_el = _child(item, "guid")
    guid = _text(guid_el)
    if not link and guid and guid_el is not None and guid_el.get("isPermaLink", "true").lower() == "true":
        link = guid
    if not link:
        return []
    published = _text(_child(item, "pubdate")) or _text(_child(item, "date"))
    return [
        FeedItem(
            url=absolutize(base_url, clean_url_text(link)),
            guid=guid,
            title=_text(_child(item, "title")),
            published_at=parse_date(published),
        )
    ]


def parse_sitemap(data: bytes, base_url: str) -> Sitemap:
    """URLs (with Google News dates and titles when present) or child sitemaps of a sitemap."""
    root = _root(data)
    kind = _local(root.tag)
    result = Sitemap()
    if kind == "sitemapindex":
        for sm in root:
            loc = _text(_child(sm, "loc"))
            if loc:
                result.sitemaps.append(absolutize(base_url, clean_url_text(loc)))
        return result
    if kind != "urlset":
        raise FeedError(f"not a sitemap: root element <{kind}>")
    for url_el in root:
        loc = _text(_child(url_el, "loc"))
        if not loc:
            continue
        news = _child(url_el, "news")
        title = published = None
        if news is not None:
            result.is_news = True
            title = _text(_child(news, "title"))
            published = parse_date(_text(_child(news, "publication_date")))
        else:
            published = parse_date(_text(_child(url_el, "lastmod")))
        result.urls.append(FeedItem(url=absolutize(base_url, clean_url_text(loc)), title=title, published_at=published))
    return result


def looks_like_sitemap(data: bytes) -> bool:
    head = data[:2048].lower()
    return b"<urlset" in head or b"<sitemapindex" in head

"""Machine-readable metadata: JSON-LD, OpenGraph/meta tags and schema.org microdata.

Each reader returns plain values; `extract.py` decides which source wins and records
the provenance. JSON-LD on real sites is often broken (trailing commas, comments,
raw newlines, several objects glued together); we repair what is cheap to repair
and skip the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from lxml import etree

from services.parser.document import normalize_space, tag_of, text_of

ARTICLE_TYPES = {
    "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "blogposting", "liveblogposting", "socialmediaposting",
    "report", "scholarlyarticle", "techarticle", "advertisernewsarticle", "satiricalarticle",
}


@dataclass
class JsonLdArticle:
    type: str
    headline: str | None = None
    description: str | None = None
    body: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    keywords: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    url: str | None = None
    language: str | None = None
    publisher: str | None = None
    live_updates: list[str] = field(default_factory=list)
    published_key: str = "datePublished"  # where `published` came from, for provenance
    modified_key: str = "dateModified"


# One left-to-right pass over JSON-ish text: strings (kept; an unclosed one runs to the
# end), /* block */ comments (an unclosed one runs to the end) and // line comments. Every
# alternative either matches or consumes the rest of the text, so the scan is linear.
_JS_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|/\*(?:.*?\*/|.*)|//[^\n]*', re.S)
_TRAILING_COMMA = re.compile(r",[ \t\r\n]*([}\]])")
_GLUED_OBJECTS = re.compile(r"}[ \t\r\n]*{")


def _strip_comments(text: str) -> str:
    return _JS_TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)


def _json(text: str) -> Any:
    """json.loads, or None; over-deep nesting is just invalid here, not the page's end."""
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _loads_lenient(text: str) -> Any:
    """A JSON-LD block's data, repaired the way sites break it (comments, trailing commas,
    several objects in one block), or None. Linear in the size of the block."""
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:]
    if text.endswith("-->"):
        text = text[:-3]
    text = text.replace("<![CDATA[", "").replace("]]>", "").strip()
    data = _json(text)
    if data is not None:
        return data
    repaired = _TRAILING_COMMA.sub(r"\1", _strip_comments(text))
    data = _json(repaired)
    if data is not None:
        return data
    # Several top-level objects in one script tag.
    return _json("[" + _GLUED_OBJECTS.sub("},{", repaired) + "]")


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every dict in a JSON-LD value, @graph and nested lists included (iteratively)."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            found.append(item)
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
                value = item.get(key)
                if isinstance(value, (list, dict)):
                    stack.append(value)
    return found


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).lower().rsplit("/", 1)[-1] for v in values if v}


def _names(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    names = []
    for v in values:
        if isinstance(v, str):
            names.append(v)
        elif isinstance(v, dict):
            name = v.get("name") or " ".join(filter(None, [v.get("givenName"), v.get("familyName")]))
            if isinstance(name, str) and name:
                names.append(name)
    return [normalize_space(n) for n in names if normalize_space(n)]


def _string(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, dict))), None)
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, (int, float)):
        value = str(value)
    return normalize_space(value) if isinstance(value, str) and value.strip() else None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list):
        parts = [v for v in value if isinstance(v, str)]
    else:
        return []
    return [normalize_space(p) for p in parts if normalize_space(p)]


def _images(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    urls = []
    for v in values:
        if isinstance(v, str):
            urls.append(v)
        elif isinstance(v, dict) and isinstance(v.get("url") or v.get("contentUrl"), str):
            urls.append(v.get("url") or v.get("contentUrl"))
    return urls


_PAGE_TYPES = {"webpage", "itempage", "collectionpage", "aboutpage"}


def _ids(value: Any) -> set[str]:
    """The @id / url strings a JSON-LD reference names ("mainEntityOfPage": {"@id": …})."""
    values = value if isinstance(value, list) else [value]
    out = set()
    for v in values:
        if isinstance(v, str):
            out.add(v.rstrip("/"))
        elif isinstance(v, dict):
            out.update(str(v[k]).rstrip("/") for k in ("@id", "url") if isinstance(v.get(k), str))
    return out


def _page_dates(nodes: list[dict[str, Any]], article: dict[str, Any]) -> tuple[str | None, str | None]:
    """datePublished / dateModified of the WebPage node an article says it is the main entity
    of (Yoast's @graph puts the dates there and not on the Article)."""
    refs = _ids(article.get("mainEntityOfPage")) | _ids(article.get("isPartOf")) | _ids(article.get("url"))
    for node in nodes:
        if _types(node) & _PAGE_TYPES and (_ids(node.get("@id")) | _ids(node.get("url"))) & refs:
            return _string(node.get("datePublished")), _string(node.get("dateModified"))
    return None, None


def _jsonld_blocks(root: etree._Element) -> Iterator[list[dict[str, Any]]]:
    """The objects of each JSON-LD block of the page, block by block (nested ones included, see
    `_walk`): a reference such as `mainEntityOfPage` points within its own block."""
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        data = _loads_lenient(script.text or "")
        if data is not None:
            yield _walk(data)


def read_jsonld(root: etree._Element) -> list[JsonLdArticle]:
    articles = []
    for nodes in _jsonld_blocks(root):
        for obj in nodes:
            types = _types(obj)
            kind = next((t for t in types if t in ARTICLE_TYPES), None)
            if kind is None:
                continue
            body = obj.get("articleBody")
            updates = []
            for update in obj.get("liveBlogUpdate") or []:
                if isinstance(update, dict) and isinstance(update.get("articleBody"), str):
                    updates.append(update["articleBody"])
            publisher = obj.get("publisher")
            published = _string(obj.get("datePublished")) or _string(obj.get("coverageStartTime")) or _string(obj.get("dateCreated"))
            modified = _string(obj.get("dateModified"))
            keys = ("datePublished", "dateModified")
            if published is None:
                published, page_modified = _page_dates(nodes, obj)
                modified = modified or page_modified
                keys = ("datePublished of the WebPage", "dateModified" if _string(obj.get("dateModified")) else "dateModified of the WebPage")
            articles.append(
                JsonLdArticle(
                    type=kind,
                    headline=_string(obj.get("headline")) or _string(obj.get("name")),
                    description=_string(obj.get("description")) or _string(obj.get("alternativeHeadline")),
                    body=body.strip() if isinstance(body, str) and body.strip() else None,
                    published=published,
                    modified=modified,
                    authors=_names(obj.get("author")) or _names(obj.get("creator")),
                    section=_string(obj.get("articleSection")),
                    keywords=_keywords(obj.get("keywords")),
                    images=_images(obj.get("image")),
                    url=_string(obj.get("url")) or (_string(obj.get("mainEntityOfPage")) if isinstance(obj.get("mainEntityOfPage"), (str, dict)) else None),
                    language=_string(obj.get("inLanguage")),
                    publisher=(_names(publisher) or [None])[0] if publisher else None,
                    live_updates=updates,
                    published_key=keys[0],
                    modified_key=keys[1],
                )
            )
    # NewsArticle-like types first: a page often also carries a generic WebPage/Article.
    articles.sort(key=lambda a: 0 if "news" in a.type or a.type == "liveblogposting" else 1)
    return articles


_ORGANIZATION_TYPES = {"organization", "newsmediaorganization", "corporation", "localbusiness", "newspaper"}


def read_publisher_address(root: etree._Element) -> dict[str, str] | None:
    """The postal address a page's JSON-LD gives its publisher (an Organization or
    NewsMediaOrganization, on its own or as an article's `publisher`): addressLocality,
    addressRegion, postalCode and addressCountry as strings, or None."""
    for nodes in _jsonld_blocks(root):
        for obj in nodes:
            candidates = [obj] if _types(obj) & _ORGANIZATION_TYPES else []
            publisher = obj.get("publisher")
            candidates += [p for p in (publisher if isinstance(publisher, list) else [publisher]) if isinstance(p, dict)]
            for org in candidates:
                address = org.get("address")
                address = address[0] if isinstance(address, list) and address else address
                if isinstance(address, dict):
                    fields = {key: _string(address.get(key)) for key in ("addressLocality", "addressRegion", "postalCode", "addressCountry")}
                    found = {k: v for k, v in fields.items() if v}
                    if found:
                        return found
    return None


# Apps that render in the browser ship the article as JSON in a script (window.__INITIAL_STATE__,
# __NEXT_DATA__, __NUXT__): its publication time under one of these keys, as ISO 8601 or Unix time.
# JSON quotes the keys; a JavaScript object (Nuxt 2's window.__NUXT__) may not.
_STATE_KEYS = "publishedAt|published_at|datePublished|publishDate|publish_date|publishedDate|publicationDate|pubDate|firstPublishedAt"
_STATE_DATE = re.compile(
    rf'(?:"({_STATE_KEYS})"|(?<![\w$."])({_STATE_KEYS}))'
    r'\s*:\s*(?:"(\d{4}-\d{2}-\d{2}[T ][^"]{4,30})"|(\d{10}(?:\d{3})?)\b)')
MAX_STATE_SCRIPT = 2_000_000
MAX_STATE_DATES = 200


def read_state_date(root: etree._Element, headline: str | None) -> tuple[str, str] | None:
    """(key, value) of the article's publication time in a page's state script, or None.

    A state holds other stories too (related, trending), each with its date: with several
    dates, the one nearest to where the state spells the headline is the article's; without
    the headline, only a state with a single date is trusted."""
    for script in root.iter("script"):
        kind = (script.get("type") or "").strip().lower()
        if kind not in ("", "text/javascript", "application/json", "module"):
            continue
        text = (script.text or "")[:MAX_STATE_SCRIPT]
        if '"' not in text:
            continue
        found = []
        for match in _STATE_DATE.finditer(text):
            found.append(match)
            if len(found) >= MAX_STATE_DATES:
                break
        if not found:
            continue
        spelled = text.find(json.dumps(headline, ensure_ascii=False)[1:-1]) if headline else -1
        if spelled < 0 and headline:
            spelled = text.find(json.dumps(headline)[1:-1])  # \u-escaped
        if spelled >= 0:
            match = min(found, key=lambda m: abs(m.start() - spelled))
        elif len(found) == 1:
            match = found[0]
        else:
            continue
        return match.group(1) or match.group(2), match.group(3) or match.group(4)
    return None


@dataclass
class MetaTags:
    values: dict[str, list[str]] = field(default_factory=dict)

    def first(self, *names: str) -> str | None:
        for name in names:
            for value in self.values.get(name, []):
                if value:
                    return value
        return None

    def all(self, *names: str) -> list[str]:
        out: list[str] = []
        for name in names:
            out.extend(v for v in self.values.get(name, []) if v)
        return out


def read_meta(root: etree._Element) -> MetaTags:
    meta = MetaTags()
    head_and_body = root.iter("meta")
    for el in head_and_body:
        key = (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or "").strip().lower()
        value = el.get("content")
        if key and value is not None:
            meta.values.setdefault(key, []).append(normalize_space(value))
    for el in root.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href"):
            meta.values.setdefault("link:canonical", []).append(el.get("href").strip())
        if "amphtml" in rel and el.get("href"):
            meta.values.setdefault("link:amphtml", []).append(el.get("href").strip())
    html_lang = root.get("lang") or root.get("xml:lang")
    if html_lang:
        meta.values["html:lang"] = [html_lang.strip()]
    title = root.find(".//title")
    if title is not None:
        meta.values["html:title"] = [text_of(title)]
    return meta


@dataclass
class Microdata:
    headline: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    keywords: list[str] = field(default_factory=list)
    body: etree._Element | None = None


def _itemprop_value(el: etree._Element) -> str | None:
    for attr in ("content", "datetime", "value"):
        if el.get(attr):
            return normalize_space(el.get(attr))
    return text_of(el) or None


def read_microdata(root: etree._Element) -> Microdata:
    data = Microdata()
    for el in root.iterfind(".//*[@itemprop]"):
        props = (el.get("itemprop") or "").lower().split()
        for prop in props:
            if prop == "headline" and data.headline is None:
                data.headline = _itemprop_value(el)
            elif prop == "datepublished" and data.published is None:
                data.published = _itemprop_value(el)
            elif prop == "datemodified" and data.modified is None:
                data.modified = _itemprop_value(el)
            elif prop in ("author", "creator"):
                name_el = el.find(".//*[@itemprop='name']")
                name = _itemprop_value(name_el) if name_el is not None else _itemprop_value(el)
                if name and name not in data.authors:
                    data.authors.append(name)
            elif prop == "articlesection" and data.section is None:
                data.section = _itemprop_value(el)
            elif prop == "keywords":
                value = _itemprop_value(el)
                if value:
                    data.keywords.extend(k.strip() for k in value.split(",") if k.strip())
            elif prop == "articlebody" and data.body is None and tag_of(el) not in ("meta", "link"):
                data.body = el
    return data

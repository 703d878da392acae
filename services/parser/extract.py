"""parse_page: a raw page event in, a structured article (or a rejection) out.

A pure function of the raw page event and the site's rules: no network, no state,
and no clock except the `parsed_at` stamp it sets (relative dates resolve against
the page's `fetched_at`). Re-parsing the raw topic with a newer `EXTRACTOR_VERSION` therefore
reproduces every article with the new logic (see docs/architecture.md, "Replay").

Each field is taken from the most trustworthy source that has it, and records
that source in `provenance` with a confidence:

    site-rule  CSS/XPath selectors from the sources file              0.95
    jsonld     schema.org JSON-LD (NewsArticle & co.)                 0.9
    microdata  schema.org microdata (itemprop=…)                      0.85
    meta       OpenGraph / article:* / name=… meta tags               0.8
    visible    what the page shows (h1, byline, printed dates, body)  0.5–0.9
    feed       what the feed or sitemap said about the page           0.6
    url/http   the URL itself / HTTP headers                          0.3–0.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

import trafilatura

from schemas.common import FieldProvenance, Image, LivePost, utcnow
from schemas.parsed_article_v1 import ParsedArticleV1
from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.parser.authors import clean_authors
from services.parser.body import BodyResult, class_words, extract_body
from services.parser.dates import TODAY, parse_epoch, parse_iso, parse_text_date, strip_relative, zone
from services.parser.document import Page, css, load_html, normalize_space, text_of
from services.parser.structured import (
    JsonLdArticle, MetaTags, Microdata, read_jsonld, read_meta, read_microdata, read_publisher_address, read_state_date,
)
from services.parser.visible import PUBLISH_HINT, UPDATE_HINT, VisibleMeta, read_visible
from services.parser.zones import SiteSignals, ZoneChoice, page_zone
from schemas.sources import SiteRules

EXTRACTOR_VERSION = "newsflow-parser/1.3.0"

MIN_BODY_CHARS = 250
# An article's images beyond this many are galleries or bait; the event keeps the first ones.
MAX_IMAGES = 100
_TITLE_SEPARATORS = re.compile(r"\s+[|—–\-:·•»]\s+")


class Fields:
    """Collects chosen values and their provenance."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.provenance: dict[str, FieldProvenance] = {}

    def set(self, name: str, value: Any, source: str, confidence: float, detail: str | None = None) -> None:
        if value in (None, "", [], {}):
            return
        if name in self.values:
            return
        self.values[name] = value
        self.provenance[name] = FieldProvenance(source=source, confidence=round(confidence, 3), detail=detail)  # type: ignore[arg-type]


def _strip_site_suffix(title: str, site_name: str | None) -> str:
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1:
        if site_name and any(site_name.lower() in p.lower() for p in parts[1:]):
            return parts[0].strip()
        if len(parts[-1]) < 40 and len(parts[0]) > 20:
            return " ".join(parts[:-1]).strip() if len(parts) > 2 and len(parts[-2]) > 40 else parts[0].strip()
    return title.strip()


_PAGE_SUFFIX = re.compile(r"\s*[(\[]?(страница|стр\.|page|p\.|сторінка|seite|página)\s*\d+[)\]]?\s*$", re.I)


def _title_part_shown(root: Any, title: str) -> str | None:
    """The part of `<title>` that the page prints as a heading (pages without an <h1>)."""
    title = _PAGE_SUFFIX.sub("", title)
    parts = [p.strip() for p in re.split(r"\s+[|—–\-·•»]\s+|:\s+", title) if len(p.strip()) > 15]
    if not parts:
        return None
    body = root.find("body")
    if body is None:
        return None
    wanted = {normalize_space(p): p for p in parts}
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in ("title", "script", "style"):
            continue
        text = normalize_space(el.text_content()) if len(el) < 5 else ""
        if text in wanted:
            return wanted[text]
    return None


_SITE_NAME_CLASS_WORDS = {"channel", "channelname", "channeltitle", "sitename", "sitetitle", "brand", "logo", "publisher"}
_MESSENGER_SUFFIX = re.compile(r"\s*[|—–\-:·•]\s*(telegram|telegra\.ph|vk|вконтакте|max|whatsapp|viber)\s*$", re.I)


def _site_names(root: Any, meta: Any, ld: JsonLdArticle | None) -> set[str]:
    """Names of the site or channel the page belongs to, lower-cased: og:site_name,
    application-name, the JSON-LD publisher, and what the page prints as its brand."""
    names = {normalize_space(n).lower() for n in (meta.first("og:site_name"), meta.first("application-name"),
                                                   ld.publisher if ld else None) if n}
    body = root.find("body")
    if body is not None:
        for el in body.iter():
            if isinstance(el.tag, str) and class_words(el) & _SITE_NAME_CLASS_WORDS:
                text = text_of(el)
                if 0 < len(text) <= 80:
                    names.add(text.lower())
    return {n for n in names if n}


def _site_name_texts(root: Any, meta: Any, ld: JsonLdArticle | None, html_title: str | None, h1: str | None) -> list[str]:
    """The site's name as the page prints it, capitals kept (they tell a city from a word):
    og:site_name, application-name, the JSON-LD publisher, the part of `<title>` after the
    headline («… — Вечерний Иркутск»), and the logo's text or alt."""
    names = [n for n in (meta.first("og:site_name"), meta.first("application-name"), ld.publisher if ld else None) if n]
    if html_title:
        title = normalize_space(html_title)
        if h1 and title.startswith(normalize_space(h1)):
            rest = title[len(normalize_space(h1)):].strip(" |—–-:·•»")
            if rest:
                names.append(rest)
        else:
            parts = _TITLE_SEPARATORS.split(title)
            if len(parts) > 1 and len(parts[-1]) <= 60:
                names.append(parts[-1])
    body = root.find("body")
    if body is not None:
        for el in body.iter():
            if isinstance(el.tag, str) and "logo" in class_words(el):
                text = text_of(el) or " ".join(img.get("alt") or "" for img in el.iter("img"))
                if 0 < len(text.strip()) <= 80:
                    names.append(text.strip())
                break
    return names


_CONTACT_CLASS_WORDS = {"footer", "contacts", "contact", "impressum", "imprint", "colophon", "copyright", "address",
                        "kontakt", "kontakty", "rekvizity", "requisites", "editorial", "redakciya", "redaktsiya"}
MAX_CONTACT_TEXT = 3000
# A cheap test of an element's class and id before its class words are split: most elements
# of a page have none of these stems.
_CONTACT_STEMS = re.compile(r"foot|contact|impressum|imprint|colophon|copyright|address|kontakt|rekvizit|requisite|editorial|redak")


def _site_contacts(root: Any) -> str:
    """The text of the site's footer, contact and imprint blocks and `<address>` elements,
    where a site prints its own phone and postal address (not the article's: an article's
    own `<footer>` holds its tags and share buttons, and is skipped)."""
    body = root.find("body")
    if body is None:
        return ""
    parts: list[str] = []
    size = 0
    taken: set[Any] = set()
    for el in body.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag not in ("footer", "address"):
            attrs = (el.get("class") or "") + " " + (el.get("id") or "")
            if len(attrs) < 5 or not _CONTACT_STEMS.search(attrs.lower()) or not (class_words(el) & _CONTACT_CLASS_WORDS):
                continue
        ancestors = list(el.iterancestors())
        if tag == "footer" and any(a.tag == "article" for a in ancestors):
            continue
        if any(a in taken for a in ancestors):
            continue
        taken.add(el)
        text = text_of(el)[: MAX_CONTACT_TEXT - size]
        parts.append(text)
        size += len(text)
        if size >= MAX_CONTACT_TEXT:
            break
    return "\n".join(parts)


# «© 2026 «Тольяттинские известия»», "© 2008–2026 The Denver Daily Ledger.", «© Сетевое издание
# «Омский вестник»»: the name after the sign, its years and a legal form («ООО», "LLC").
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–—]\s*\d{4})?\s*,?\s*)?"
    r"(?:(?:сетевое издание|сми|ооо|оао|зао|ао|ано|мбу|гау|газета|издание|редакция|информационное агентство|иа)\s+)*"
    r"(?!фото|photo|image|изображ|иллюстр|все права|all rights)"
    r"(?:[«\"“„]([^»\"”“\n]{3,60})[»\"”“]|([A-ZА-ЯЁ][^.,|;©\n]{2,60}))", re.I)


def copyright_names(contacts: str) -> list[str]:
    """The site's name as its footer's copyright line prints it: a site whose logo is an image
    without text may name itself nowhere else."""
    names = []
    for match in _COPYRIGHT.finditer(contacts[:MAX_CONTACT_TEXT]):
        name = normalize_space(match.group(1) or match.group(2))
        if name and name not in names:
            names.append(name)
        if len(names) >= 3:
            break
    return names


def _own_hreflangs(root: Any, url: str, canonical: str | None) -> list[str]:
    """The hreflang a page gives its own address (`<link rel="alternate" hreflang="en-au"
    href="…this page…">`): the language and country it says it is for."""
    own = {u.rstrip("/") for u in (url, canonical) if u}
    out = []
    for el in root.iter("link"):
        lang, href = el.get("hreflang"), el.get("href")
        if lang and href and "alternate" in (el.get("rel") or "").lower() and urljoin(url, href).rstrip("/") in own:
            out.append(lang)
    return out


def _is_site_name(text: str, names: set[str]) -> bool:
    key = normalize_space(_MESSENGER_SUFFIX.sub("", text)).lower()
    return bool(key) and key in names


def _headline_like(line: str) -> bool:
    """A post's first line that reads as its headline: short, and not a sentence that runs on."""
    words = line.split()
    return 2 <= len(words) <= 20 and len(line) <= 160 and not line.rstrip().endswith((",", ":", ";"))


def _rule_element(root: Any, selector: str | None) -> Any | None:
    """The first element a site rule selects, or None (no rule, or it matches nothing)."""
    if not selector:
        return None
    found = css(root, selector)
    return found[0] if found else None


def _rule_text(root: Any, selector: str | None) -> str | None:
    el = _rule_element(root, selector)
    return text_of(el) if el is not None else None


def _similar(a: str, b: str) -> bool:
    a, b = normalize_space(a).lower().strip(" .«»\"'"), normalize_space(b).lower().strip(" .«»\"'")
    if not a or not b:
        return False
    return a == b or a in b or b in a


def _aware(dt: datetime | None, choice: ZoneChoice) -> tuple[datetime | None, float]:
    """Make a parsed date timezone-aware; returns (date, confidence factor)."""
    if dt is None:
        return None, 0.0
    if dt.tzinfo is not None:
        return dt, 1.0
    return dt.replace(tzinfo=choice.tz), choice.factor


def parse_page(raw: RawPageV1, rules: SiteRules | None = None) -> ParsedArticleV1 | Rejected:
    """Extract the article from a raw page. Never raises for any input page."""
    aid, url = raw.article_id, raw.final_url or raw.url
    if raw.html is None:
        return Rejected("binary-content", f"content type {raw.content_type!r} is not a text page", aid, url)
    if raw.status != 200:
        return Rejected("not-ok-status", f"page status {raw.status}", aid, url)
    page = load_html(raw.html)
    if isinstance(page, Rejected):
        return Rejected(page.reason, page.detail, aid, url)
    try:
        return _parse_tree(raw, page, rules)
    except RecursionError:
        return Rejected("unparseable-html", "the page is nested too deeply to read", aid, url)


@dataclass
class _Readings:
    """What the page says about itself, read once and shared by the field choosers."""

    raw: RawPageV1
    url: str
    root: Any
    rules: SiteRules | None
    ld: JsonLdArticle | None
    meta: MetaTags
    micro: Microdata
    visible: VisibleMeta


@dataclass
class _Body:
    """The chosen body: its paragraphs, live posts, and where it came from."""

    extraction: BodyResult
    paragraphs: list[str]
    posts: list[tuple[int, str]]
    source: str
    confidence: float
    detail: str


def _parse_tree(raw: RawPageV1, page: Page, rules: SiteRules | None) -> ParsedArticleV1 | Rejected:
    """The field choosers in order (a later one may read what an earlier one chose), then the article."""
    aid, url = raw.article_id, raw.final_url or raw.url
    root = page.root
    jsonld = read_jsonld(root)
    r = _Readings(raw, url, root, rules, jsonld[0] if jsonld else None, read_meta(root), read_microdata(root), read_visible(root))
    publisher_address = read_publisher_address(root)
    f = Fields()
    site_name = _choose_site_name_and_canonical(f, r)
    lang = _choose_language(f, r)
    html_title, site_title = _choose_title(f, r, site_name)
    _choose_lead(f, r)
    exclude = {site_name or "", r.meta.first("og:site_name") or ""}
    _choose_authors(f, r, exclude)
    glued = _names_glued_to_dates(r.visible.date_texts)
    _choose_section(f, r)
    _choose_tags(f, r)
    _choose_images(f, r)
    cards = _teaser_cards(root)
    # Read before the body extractor strips the page's chrome.
    contacts = _site_contacts(root)
    own_hreflangs = _own_hreflangs(root, url, f.values.get("canonical_url"))
    # Only when no structured source dates the page: the scan reads every inline script.
    dated = (r.ld and r.ld.published) or r.meta.first(*PUBLISHED_META) or r.micro.published
    state_date = None if dated else read_state_date(root, r.visible.h1 or f.values.get("title"))
    body = _choose_body(f, r, page, cards, site_title)
    if isinstance(body, Rejected):
        return body
    paragraphs = body.paragraphs
    text = "\n\n".join(paragraphs)

    # Dates after the body: its dateline is one of the signals of the page's zone.
    signals = SiteSignals(names=_site_name_texts(root, r.meta, r.ld, html_title, r.visible.h1) + copyright_names(contacts),
                          dateline=paragraphs[0] if paragraphs else None, contacts=contacts,
                          geo_region=r.meta.first("geo.region"), geo_placename=r.meta.first("geo.placename"),
                          hreflangs=own_hreflangs, address=publisher_address)
    zone_choice = _choose_dates(f, raw, root, rules, r.ld, r.meta, r.micro, r.visible, raw.timezone, lang, signals, state_date)

    rejection = _not_an_article(r.ld, r.meta, text, paragraphs, f, body.extraction.container, cards)
    if rejection:
        return Rejected("not-an-article", rejection, aid, url)
    detail = f"{body.detail}; page bounded: {', '.join(page.notes)}" if page.notes else body.detail
    f.set("body", text, body.source, body.confidence, detail)  # type: ignore[arg-type]
    _choose_authors_from_text(f, body.extraction, glued, exclude)
    if "title" not in f.values:
        return Rejected("no-title", "no headline found in any source", aid, url)
    return _article(raw, f, text, paragraphs, body.posts, lang, zone_choice)


def _choose_site_name_and_canonical(f: Fields, r: _Readings) -> str | None:
    """The site's name and the canonical URL; returns the site's name (titles are stripped of it)."""
    meta, ld = r.meta, r.ld
    site_name = meta.first("og:site_name", "application-name") or (ld.publisher if ld else None)
    f.set("site_name", site_name, "meta" if meta.first("og:site_name", "application-name") else "jsonld", 0.8)
    canonical = meta.first("link:canonical") or meta.first("og:url") or (ld.url if ld else None)
    if canonical:
        canonical = urljoin(r.url, canonical)
        f.set("canonical_url", canonical, "meta", 0.9)
    else:
        f.set("canonical_url", r.url, "url", 0.5)
    return site_name


def _choose_language(f: Fields, r: _Readings) -> str | None:
    """The first two-letter language code declared: JSON-LD, <html lang>, meta tags, HTTP."""
    ld, meta = r.ld, r.meta
    for candidate, source in ((ld.language if ld else None, "jsonld"), (meta.first("html:lang"), "visible"),
                              (meta.first("og:locale", "content-language", "language"), "meta"), (r.raw.language_hint, "http")):
        code = (candidate or "").strip().replace("_", "-").split("-")[0].lower()
        if re.fullmatch(r"[a-z]{2}", code):
            f.set("language", code, source, 0.6)  # type: ignore[arg-type]
            return code
    return None


def _choose_title(f: Fields, r: _Readings, site_name: str | None) -> tuple[str | None, str | None]:
    """The headline; returns the page's <title> and the site's own title (last resorts for the body step)."""
    root, ld, meta, micro, visible, rules = r.root, r.ld, r.meta, r.micro, r.visible, r.rules
    if rules:
        f.set("title", _rule_text(root, rules.title), "site-rule", 0.95, rules.title)
    candidates = [
        (ld.headline if ld else None, "jsonld", 0.9),
        (micro.headline, "microdata", 0.85),
        (meta.first("og:title", "twitter:title"), "meta", 0.8),
    ]
    # A channel's or site's name is not a headline (a messenger-channel mirror prints
    # the channel's name as <title>, og:title and <h1>; the post's headline is its first line).
    names = _site_names(root, meta, ld)
    if visible.h1 and not _is_site_name(visible.h1, names):
        agreed = [c for c in candidates if c[0] and _similar(c[0], visible.h1)]
        confidence = 0.95 if agreed else 0.75
        f.set("title", visible.h1, "visible", confidence, "h1")
    for value, source, confidence in candidates:
        value = _strip_site_suffix(value, site_name) if value and source == "meta" else value
        if value and not _is_site_name(value, names):
            f.set("title", value, source, confidence)
    html_title = meta.first("html:title")
    if html_title and "title" not in f.values:
        shown = _title_part_shown(root, html_title)
        if shown and not _is_site_name(shown, names):
            f.set("title", shown, "visible", 0.75, "<title> part printed on the page")
        stripped = _strip_site_suffix(html_title, site_name)
        if not _is_site_name(stripped, names) and not _is_site_name(_TITLE_SEPARATORS.split(stripped)[0], names):
            f.set("title", stripped, "visible", 0.6, "<title>")
    raw = r.raw
    if raw.discovered_via and raw.discovered_via.title:
        f.set("title", raw.discovered_via.title, "feed", 0.6)
    site_title = next((t for t in (visible.h1, meta.first("og:title"), html_title) if t), None)
    return html_title, site_title


def _choose_lead(f: Fields, r: _Readings) -> None:
    if r.rules:
        f.set("lead", _rule_text(r.root, r.rules.lead), "site-rule", 0.95, r.rules.lead)
    f.set("lead", r.visible.lead, "visible", 0.8, "standfirst element")


def _choose_authors(f: Fields, r: _Readings, exclude: set[str]) -> None:
    """Authors from declared sources and the byline (the text's signatures come later, if none)."""
    root, ld, meta, micro, visible, rules = r.root, r.ld, r.meta, r.micro, r.visible, r.rules
    if rules and rules.authors:
        f.set("authors", clean_authors([text_of(e) for e in css(root, rules.authors)], exclude=exclude), "site-rule", 0.95)
    if ld and ld.authors:
        f.set("authors", clean_authors(ld.authors, exclude=exclude), "jsonld", 0.9)
    if micro.authors:
        f.set("authors", clean_authors(micro.authors, exclude=exclude), "microdata", 0.85)
    meta_authors = [a for a in meta.all("author", "article:author", "sailthru.author", "parsely-author", "dc.creator") if not a.startswith("http")]
    if meta_authors:
        f.set("authors", clean_authors(meta_authors, exclude=exclude), "meta", 0.8)
    if visible.byline:
        f.set("authors", clean_authors(visible.byline, exclude=exclude), "visible", 0.7, "byline")


def _choose_authors_from_text(f: Fields, extraction: BodyResult, glued: list[str], exclude: set[str]) -> None:
    """Last resorts for authors: a signature in the text, then a name printed before the date."""
    if "authors" not in f.values:
        f.set("authors", clean_authors(extraction.signatures, exclude=exclude), "visible", 0.6, "signature in the text")
    if "authors" not in f.values:
        f.set("authors", clean_authors(glued, exclude=exclude), "visible", 0.55, "name before the date")


def _choose_section(f: Fields, r: _Readings) -> None:
    """The section; breadcrumbs count only when they are not the headline itself (after the title)."""
    ld, visible, rules = r.ld, r.visible, r.rules
    if rules:
        f.set("section", _rule_text(r.root, rules.section), "site-rule", 0.95, rules.section)
    f.set("section", ld.section if ld else None, "jsonld", 0.85)
    f.set("section", r.micro.section, "microdata", 0.8)
    f.set("section", r.meta.first("article:section", "section", "parsely-section"), "meta", 0.8)
    crumbs = [c for c in visible.breadcrumbs if not _similar(c, f.values.get("title", ""))]
    if crumbs:
        f.set("section", crumbs[-1], "visible", 0.5, "breadcrumbs")


def _choose_tags(f: Fields, r: _Readings) -> None:
    ld, meta, rules = r.ld, r.meta, r.rules
    if rules and rules.tags:
        f.set("tags", _unique([text_of(e) for e in css(r.root, rules.tags)]), "site-rule", 0.95, rules.tags)
    f.set("tags", _unique(ld.keywords) if ld else None, "jsonld", 0.8)
    f.set("tags", _unique(meta.all("article:tag") or _split_keywords(meta.first("news_keywords", "keywords"))), "meta", 0.7)
    f.set("tags", _unique(r.micro.keywords), "microdata", 0.7)
    f.set("tags", _unique(r.visible.tags), "visible", 0.6)


def _choose_images(f: Fields, r: _Readings) -> None:
    """The images the article shows (at most MAX_IMAGES), else its og:image."""
    url = r.url
    images = [Image(url=urljoin(url, i.url) if i.url else url, caption=i.caption, credit=i.credit) for i in r.visible.images[:MAX_IMAGES]]
    if not images:
        og_image = r.meta.first("og:image")
        if og_image:
            images.append(Image(url=urljoin(url, og_image), caption=r.meta.first("og:image:alt")))
    f.set("images", images, "visible", 0.8)


def _choose_body(f: Fields, r: _Readings, page: Page, cards: TeaserCards | None, site_title: str | None) -> _Body | Rejected:
    """The body from the page's text, JSON-LD's articleBody when it is clearly longer, or a
    second opinion when ours is weak; a listing page is refused. A post without a headline of
    its own gets its first line as title (or, last, the site's title)."""
    root, rules, ld = r.root, r.rules, r.ld
    drop = set(r.visible.caption_texts)
    if f.values.get("lead"):
        drop.add(f.values["lead"])
    if f.values.get("title"):
        drop.add(f.values["title"])
    result = extract_body(
        root,
        rule=rules.body if rules else None,
        exclude=rules.exclude if rules else None,
        microdata_body=r.micro.body,
        drop_texts=drop,
    )
    paragraphs = result.paragraphs
    listing = _listing_page(ld, r.meta, "\n\n".join(paragraphs), result.container, cards)
    if listing:
        # Decided on our own reading: a second opinion would happily return the teasers as text.
        return Rejected("not-an-article", listing, r.raw.article_id, r.url)
    body_source, body_conf, body_detail = ("site-rule" if result.method == "site-rule" else "microdata" if result.method == "microdata" else "visible"), result.confidence, result.method
    ld_body = _jsonld_body(ld)
    if ld_body and len(ld_body) > max(MIN_BODY_CHARS, 1.3 * len("\n\n".join(paragraphs))) and result.method != "site-rule":
        paragraphs = [normalize_space(p) for p in re.split(r"\n\s*\n|\n", ld_body) if normalize_space(p)]
        body_source, body_conf, body_detail = "jsonld", 0.85, "articleBody"
    elif result.confidence < 0.5:
        second = _second_opinion(page.html, r.url)
        if second and len(second) > 1.2 * len("\n\n".join(paragraphs)):
            paragraphs = [p for p in second.split("\n") if p.strip()]
            body_source, body_conf, body_detail = "visible", 0.6, "trafilatura"
    posts = result.posts if body_detail == result.method else []
    if "title" not in f.values and len(paragraphs) > 1 and _headline_like(paragraphs[0]):
        f.set("title", paragraphs[0], "visible", 0.6, "first line of the post (the page's title is the site's name)")
        paragraphs = paragraphs[1:]
        posts = [(i - 1, t) for i, t in posts if i > 0]
    if "title" not in f.values and site_title:
        f.set("title", site_title, "visible", 0.4, "the site's name: no headline of its own")
    return _Body(result, paragraphs, posts, body_source, body_conf, body_detail)


def _article(raw: RawPageV1, f: Fields, body: str, paragraphs: list[str], posts: list[tuple[int, str]], lang: str | None,
             zone_choice: ZoneChoice) -> ParsedArticleV1:
    """The event from the chosen fields, every text cleaned."""
    return ParsedArticleV1(
        trace_id=raw.trace_id,
        id=raw.article_id,
        url=raw.url,
        canonical_url=f.values["canonical_url"],
        source=raw.source,
        site_name=clean_text(f.values.get("site_name")),
        title=clean_text(f.values["title"]),
        lead=clean_text(f.values.get("lead")),
        body=clean_text(body),
        published_at=f.values.get("published_at"),
        modified_at=f.values.get("modified_at"),
        authors=[clean_text(a) for a in f.values.get("authors", [])],
        section=clean_text(f.values.get("section")),
        tags=[clean_text(t) for t in f.values.get("tags", [])],
        images=f.values.get("images", []),
        language=lang,
        fetched_at=raw.fetched_at,
        content_hash=raw.content_hash,
        live_posts=_live_posts(posts, [clean_text(p) or "" for p in paragraphs], f.values.get("published_at"), zone_choice,
                               raw.fetched_at),
        provenance=f.provenance,
        extractor_version=EXTRACTOR_VERSION,
        parsed_at=utcnow(),
    )


_GLUED = re.compile(r"^([A-ZА-ЯЁ][\w'’-]+(?:\s+[A-ZА-ЯЁ][\w'’-]+){1,2})\s*[,|•·—–-]\s*\d")
_LABELLED = re.compile(r"(?:автор|текст|by)\s*:?\s+([A-ZА-ЯЁ][\w'’-]+\s+[A-ZА-ЯЁ][\w'’-]+)", re.I)
_SEGMENT_NAME = re.compile(r"^([A-ZА-ЯЁ][a-zа-яё'’-]+\s+[A-ZА-ЯЁ][a-zа-яё'’-]+)(?:\s*,\s*[A-ZА-ЯЁ][\w .-]+)?$")


def _names_glued_to_dates(date_texts: list[tuple[str, str]]) -> list[str]:
    """Bylines printed in the date line: «Мария Иванова, 12 октября 2025, 09:10»,
    «… | Автор: Павел Дёмин | …», «23 октября 2025 г., 10:15 | Андрей Вешняков, Архангельская область»."""
    for _, text in date_texts:
        match = _GLUED.match(text) or _LABELLED.search(text)
        if match:
            return [match.group(1)]
        segments = [normalize_space(seg) for seg in re.split(r"[|•·]", text)]
        if len(segments) > 1 and any(parse_text_date(seg) for seg in segments):
            for seg in segments:
                named = _SEGMENT_NAME.match(seg)
                if named and not parse_text_date(seg):
                    return [named.group(1)]
    return []


def _unique(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        v = normalize_space(v)
        if v and v.lower() not in {o.lower() for o in out}:
            out.append(v)
    return out


def _split_keywords(value: str | None) -> list[str]:
    return [k for k in (normalize_space(p) for p in (value or "").split(",")) if k]


def _jsonld_body(ld: JsonLdArticle | None) -> str | None:
    if ld is None:
        return None
    if ld.body:
        return ld.body
    if ld.live_updates:
        return "\n\n".join(ld.live_updates)
    return None


def _second_opinion(html: str, url: str) -> str | None:
    # No `deduplicate`: trafilatura's duplicate cache lives for the whole process, so a page's
    # result would depend on the pages parsed before it, and parsing must be a pure function
    # of the page (replays, the worker a page lands on, the order of a batch).
    try:
        return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False, include_tables=False, deduplicate=False)
    except Exception:  # noqa: BLE001 - the second opinion is optional
        return None


# The distance given to the fallback "first date after the headline": behind every dated element.
FAR = 1_000
# Meta tags that date a page, most common first: OpenGraph and its variants, Dublin Core,
# Sailthru, Parse.ly, Mediator (Russian sites), schema.org properties put in <meta itemprop>.
PUBLISHED_META = ("article:published_time", "og:published_time", "published_time", "pubdate", "publishdate", "date", "dc.date",
                  "dc.date.issued", "dcterms.created", "sailthru.date", "parsely-pub-date", "article:published",
                  "og:article:published_time", "mediator_published_time", "publish-date", "publish_date", "pub_date",
                  "datepublished", "datecreated", "dcterms.issued")
MODIFIED_META = ("article:modified_time", "og:updated_time", "last-modified", "dcterms.modified", "article:modified",
                 "og:article:modified_time", "datemodified")
# Dates outside this window are errors or bait (year 9999, year 1), not publication times.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=2)
# No printed date needs more characters than this; longer texts are cut before the date regexes run.
MAX_DATE_TEXT = 400
# Format controls that change how text displays without being text: bidi overrides,
# embeddings and isolates (U+202E makes a title read backwards), invisible separators.
# Zero-width (non-)joiners stay: Persian and Indic scripts need them.
_FORMAT_CONTROLS = re.compile("[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")


def plausible_date(dt: datetime, fetched_at: datetime) -> bool:
    try:
        return EARLIEST_DATE <= dt <= fetched_at + FUTURE_SLACK
    except (OverflowError, TypeError):
        return False


def clean_text(text: str | None) -> str | None:
    """Text without bidi and other format controls (see _FORMAT_CONTROLS)."""
    return _FORMAT_CONTROLS.sub("", text) if text else text


@dataclass
class DateCandidate:
    value: datetime
    source: str
    confidence: float
    detail: str | None
    has_time: bool
    label: str  # "published_at" | "modified_at"
    zone_inferred: bool = False  # printed without a zone, read in the page's zone
    distance: int = 0  # levels from the headline to the ancestor it shares with the date (visible dates)
    from_state: bool = False  # from a state script (window.__INITIAL_STATE__, __NEXT_DATA__): the last resort


def _has_time(dt: datetime) -> bool:
    """A printed date without a time of day parses to midnight."""
    return (dt.hour, dt.minute, dt.second) != (0, 0, 0)


def _parse_any(value: str | None, reference: datetime, local_zone: Any = None) -> tuple[datetime | None, bool]:
    """(datetime or None, whether a time of day was given). «Сегодня»/«вчера» are days in
    `local_zone` (the page's zone) when given, else in the fetch time's."""
    if not value:
        return None, False
    value = value[:MAX_DATE_TEXT]
    dt = parse_iso(value) or parse_epoch(value)
    if dt is not None:
        return dt, bool(re.search(r"\d[T ]\d{1,2}:\d{2}", value)) or parse_iso(value) is None
    found = (parse_text_date(strip_relative(value), now=reference)
             or parse_text_date(value, reference=reference, local_zone=local_zone, now=reference))
    return (found[0], _has_time(found[0])) if found else (None, False)


def _choose_dates(f: Fields, raw: RawPageV1, root: Any, rules: SiteRules | None, ld: JsonLdArticle | None,
                  meta: Any, micro: Any, visible: Any, tz_name: str | None, language: str | None,
                  signals: SiteSignals | None = None, state_date: tuple[str, str] | None = None) -> ZoneChoice:
    """Publication and modification times, from the most trusted source that has them.

    Structured dates (site rule, JSON-LD, meta, microdata) win; a structured date
    without a time of day borrows the time from a date printed on the page for the
    same day. Printed dates are ranked: with a time before without, "published"
    before "updated", near the headline before elsewhere. A date printed without a
    zone is read in the zone `zones.page_zone` chooses, and its provenance says so; a
    structured UTC stamp that reads as the printed local clock is that local time
    mislabelled (`_local_time_labelled_utc`). Days printed without a year take the
    fetch's (`dates.parse_text_date`, `now`). `state_date` is the publication time a
    browser-rendered page keeps in its state script (`structured.read_state_date`), read
    before the body extractor drops the scripts.
    """
    reference = raw.fetched_at
    values: list[tuple[str, str, str, float, str | None]] = []
    implausible: dict[str, list[str]] = {}

    def add(label: str, value: str | None, source: str, confidence: float, detail: str | None = None) -> None:
        if value:
            values.append((label, value, source, confidence, detail))

    el = _rule_element(root, rules.published_at if rules else None)
    if el is not None:
        add("published_at", el.get("datetime") or el.get("content") or text_of(el), "site-rule", 0.95, rules.published_at)  # type: ignore[union-attr]
    if ld:
        add("published_at", ld.published, "jsonld", 0.9, ld.published_key)
        add("modified_at", ld.modified, "jsonld", 0.9, ld.modified_key)
    add("published_at", meta.first(*PUBLISHED_META), "meta", 0.85)
    add("modified_at", meta.first(*MODIFIED_META), "meta", 0.85)
    add("published_at", micro.published, "microdata", 0.85, "datePublished")
    add("modified_at", micro.modified, "microdata", 0.85, "dateModified")
    nearness: dict[int, int] = {}  # index in `values` → distance from the headline
    for (hint, value), distance in zip(visible.time_elements, visible.time_distances):
        label = "modified_at" if UPDATE_HINT.search(hint) and not PUBLISH_HINT.search(hint) else "published_at"
        nearness[len(values)] = distance
        attribute = re.match(r"@([\w-]+)", hint)
        add(label, value, "visible", 0.8, f"[{attribute.group(1)}]" if attribute else "time[datetime]")
    for (hint, text), distance in zip(visible.date_texts, visible.date_distances):
        nearness[len(values)] = distance
        label = "modified_at" if UPDATE_HINT.search(hint) and not PUBLISH_HINT.search(hint) else "published_at"
        if label == "published_at" and UPDATE_HINT.search(text):
            # "Обновлено: … Опубликовано: …" in one line: keep the part after "published".
            match = PUBLISH_HINT.search(text)
            if match:
                text = text[match.end():]
            else:
                label = "modified_at"
        add(label, text, "visible", 0.7, "printed date")
    # The last resort: a state script also holds other stories, and its date is matched to the
    # article only by where the headline is spelled (`structured.read_state_date`). It fills
    # in when the page prints no date, only a day, or only a date found in the text.
    state_index = len(values)
    if state_date is not None:
        add("published_at", state_date[1], "meta", 0.75, f"{state_date[0]} in the page's state script")
    fallback_text = _text_after_headline(root, visible.h1 or f.values.get("title"))
    first = parse_text_date(strip_relative(fallback_text), prefer_time=True, now=reference) if fallback_text else None

    def parse_all(local_zone: Any) -> list[tuple[str, datetime, bool, str, float, str | None, int]]:
        """Every date found, with its index in `values` (-1: the first date after the headline);
        «сегодня, 14:35» is a day in `local_zone` (the page's), not UTC's."""
        out = []
        for index, (label, value, source, confidence, detail) in enumerate(values):
            dt, has_time = _parse_any(value, reference, local_zone)
            if dt is not None:
                out.append((label, dt, has_time, source, confidence, detail, index))
        if first:
            out.append(("published_at", first[0], _has_time(first[0]), "visible", 0.5, "first date after the headline", -1))
        return out

    found = parse_all(None)
    base = signals or SiteSignals()
    choice = page_zone(
        given=tz_name, url=raw.final_url or raw.url,
        locales=[meta.first("og:locale"), meta.first("html:lang"), meta.first("content-language"),
                 *(signals.hreflangs if signals else [])], language=language,
        aware_dates=[dt for _, dt, _, _, _, _, _ in found if dt.tzinfo is not None],
        text=fallback_text or "",
        site=replace(base, clock=" ".join(t for _, t in visible.date_texts)),
    )
    if any(TODAY.search(value) for _, value, _, _, _ in values):
        found = parse_all(choice.tz)
    candidates: list[DateCandidate] = []
    for label, dt, has_time, source, confidence, detail, index in found:
        zoned, factor = _aware(dt, choice)
        if zoned is None:
            continue
        if not plausible_date(zoned, reference):
            implausible.setdefault(label, []).append(f"{zoned.isoformat()} ({source})")
            continue
        if factor != 1.0:
            detail = f"{detail}; zone {choice.reason}" if detail else f"zone {choice.reason}"
        candidates.append(DateCandidate(zoned, source, confidence * factor, detail, has_time, label, factor != 1.0,
                                        FAR if index < 0 else nearness.get(index, 0), index == state_index))

    for label in ("published_at", "modified_at"):
        structured = [c for c in candidates if c.label == label and c.source != "visible" and not c.from_state]
        # The date printed with the headline first: a news-feed column or a "most read" list
        # may come before the article in the markup (stable: page order among equals).
        printed = sorted((c for c in candidates if c.label == label and c.source == "visible"), key=lambda c: c.distance)
        best = structured[0] if structured else None
        if best is not None and not best.has_time:
            same_day = next((c for c in printed if c.has_time and c.value.date() == best.value.date()), None)
            if same_day is not None:
                best = DateCandidate(same_day.value, same_day.source, min(best.confidence, same_day.confidence), "time of day from the page", True, label)
        if best is not None:
            best = _local_time_labelled_utc(best, printed, choice)
        if best is None and printed:
            # A clock time elsewhere on the page may complete the nearest printed day, not
            # replace it with another day's (a comment's or a related story's).
            nearest = printed[0]
            best = next((c for c in printed if c.has_time and (nearest.has_time or c.value.date() == nearest.value.date())), nearest)
        from_state = next((c for c in candidates if c.label == label and c.from_state), None)
        if from_state is not None and (best is None or best.distance == FAR
                                       or not best.has_time and best.value.date() == from_state.value.date()):
            best = from_state
        if best is not None:
            f.set(label, best.value, best.source, best.confidence, best.detail)
    if "published_at" not in f.values and raw.discovered_via and raw.discovered_via.published_at:
        if plausible_date(raw.discovered_via.published_at, reference):
            f.set("published_at", raw.discovered_via.published_at, "feed", 0.6, raw.discovered_via.kind)
        else:
            implausible.setdefault("published_at", []).append(f"{raw.discovered_via.published_at.isoformat()} (feed)")
    for label, dropped in implausible.items():
        note = f"ignored as implausible (before {EARLIEST_DATE.year} or over {FUTURE_SLACK.days} days after the fetch): {'; '.join(dropped)}"
        kept = f.provenance.get(label)
        if kept is not None:
            f.provenance[label] = kept.model_copy(update={"detail": f"{kept.detail}; {note}" if kept.detail else note})
        else:
            f.provenance[label] = FieldProvenance(source="default", confidence=0.0, detail=note)
    return choice


def _local_time_labelled_utc(best: DateCandidate, printed: list[DateCandidate], choice: ZoneChoice) -> DateCandidate:
    """A structured time in UTC ("…T14:35:00Z", "+00:00") whose clock reading is exactly the one
    the page prints without a zone, on a site whose zone is not UTC, is the printed local time
    that the CMS labelled as UTC: readers of a Moscow site see «14:35» for a 14:35 Moscow
    article, and a correct UTC stamp would read 11:35. The printed time, read in the page's
    zone, wins, and provenance says why. A UTC stamp that differs from the printed clock (the
    usual, correct case) is kept."""
    if not best.has_time or best.value.utcoffset() != timedelta(0) or choice.origin == "unknown":
        return best
    wall = best.value.replace(tzinfo=None, second=0, microsecond=0)
    for c in printed:
        if c.zone_inferred and c.has_time and c.value.replace(tzinfo=None, second=0, microsecond=0) == wall and c.value.utcoffset() != timedelta(0):
            detail = (f"{best.detail or best.source} says UTC but reads as the page's printed local time {wall:%H:%M}; "
                      f"zone {choice.reason}")
            return DateCandidate(c.value, best.source, min(best.confidence, c.confidence), detail, True, best.label, True)
    return best


def _live_posts(posts: list[tuple[int, str]], paragraphs: list[str], published: datetime | None,
                choice: ZoneChoice, reference: datetime) -> list[LivePost]:
    """Live-blog posts with their times: a full timestamp as given, or a printed clock time
    («17:40») on the day of the article's publication, in the page's zone."""
    offsets = [0]
    for p in paragraphs:
        offsets.append(offsets[-1] + len(p) + 2)
    out: list[LivePost] = []
    for index, value in posts:
        when, _ = _parse_any(value, reference, choice.tz)
        if when is None and published is not None:
            clock = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", value)
            if clock and int(clock.group(1)) < 24 and int(clock.group(2)) < 60:
                day = published.astimezone(choice.tz).date()
                when = datetime(day.year, day.month, day.day, int(clock.group(1)), int(clock.group(2)))
        when, _ = _aware(when, choice)
        out.append(LivePost(start=offsets[index], published_at=when))
    return out


def _text_after_headline(root: Any, h1: str | None) -> str | None:
    body = root.find("body")
    if body is None:
        return None
    text = normalize_space(body.text_content())
    if h1 and h1 in text:
        start = text.index(h1) + len(h1)
        return text[start : start + 600]
    return text[:3000]


@dataclass
class TeaserCards:
    """Repeated sibling boxes that each link to another story: the shape of a listing."""

    parent: Any
    count: int
    text_chars: int


def _teaser_cards(root: Any) -> TeaserCards | None:
    """The largest run of same-class siblings (≥ 6) that each carry a headline link."""
    best: TeaserCards | None = None
    body = root.find("body")
    if body is None:
        return None
    for parent in body.iter():
        if not isinstance(parent.tag, str) or len(parent) < 6:
            continue
        groups: dict[tuple[str, str], list[Any]] = {}
        for child in parent:
            if isinstance(child.tag, str):
                groups.setdefault((child.tag, child.get("class") or ""), []).append(child)
        for members in groups.values():
            if len(members) < 6:
                continue
            linked = sum(1 for m in members if _is_teaser(m))
            if linked < 0.7 * len(members):
                continue
            chars = sum(len(normalize_space(m.text_content())) for m in members)
            if best is None or linked > best.count:
                best = TeaserCards(parent, linked, chars)
    return best


def _is_teaser(box: Any) -> bool:
    """A box with a headline (a link, a heading or a "title" element of ≥ 4 words) and little else."""
    for el in box.iter():
        if not isinstance(el.tag, str):
            continue
        words = len(normalize_space(el.text_content()).split())
        if words < 4:
            continue
        if el.tag == "a":
            return True
        if el.tag in ("h2", "h3", "h4") or "title" in (el.get("class") or "").lower() or "headline" in (el.get("class") or "").lower():
            return len(normalize_space(box.text_content())) <= 500
    return False


def _inside(el: Any, ancestor: Any) -> bool:
    node = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _listing_page(ld: JsonLdArticle | None, meta: Any, body: str, container: Any, cards: TeaserCards | None = None) -> str | None:
    """A reason when the page is a section front or tag page (a list of teasers)."""
    og_type = (meta.first("og:type") or "").lower()
    if ld is not None or og_type == "article" or meta.first("article:published_time"):
        return None
    if cards is not None and cards.count >= 6:
        if container is None or _inside(container, cards.parent) or len(body) < 0.5 * cards.text_chars:
            return f"{cards.count} teaser cards linking to other stories outweigh the text"
    if container is not None:
        links = container.xpath(".//a")
        linked = sum(len(normalize_space(a.text_content())) for a in links)
        total = len(normalize_space(container.text_content())) or 1
        if len(links) >= 8 and linked / total > 0.35:
            return "a list of links and teasers, not an article"
    return None


def _not_an_article(ld: JsonLdArticle | None, meta: Any, body: str, paragraphs: list[str], f: Fields, container: Any,
                    cards: TeaserCards | None = None) -> str | None:
    """A reason when the page, after extraction, still does not hold one article."""
    og_type = (meta.first("og:type") or "").lower()
    article_signals = bool(ld) or og_type == "article" or bool(meta.first("article:published_time"))
    if not body or len(body) < 80:
        return f"no article text found ({len(body)} characters)"
    listing = _listing_page(ld, meta, body, container, cards)
    if listing:
        return listing
    if len(body) < MIN_BODY_CHARS and not article_signals:
        return f"too little text for an article ({len(body)} characters)"
    if not article_signals and "published_at" not in f.values and len(paragraphs) < 3:
        return "no date, no article metadata and fewer than three paragraphs"
    return None

"""Metadata as a reader sees it: headline, standfirst, byline, printed dates, photos, tags.

Read from the untouched page tree, before the body extractor strips it. These are
the fallbacks when a page has no structured metadata, and the cross-checks when it
has (a JSON-LD headline that differs from the visible one loses to the visible one).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from lxml import etree

from services.parser.body import class_words
from services.parser.dates import parse_text_date
from services.parser.document import normalize_space, tag_of, text_of

LEAD_WORDS = {"lead", "standfirst", "subtitle", "subheadline", "subhead", "dek", "intro", "announce", "anons", "summary", "excerpt", "deck", "lede", "podzagolovok"}
BYLINE_WORDS = {"author", "authors", "byline", "writer", "creator", "avtor", "reporter", "contributor"}
DATE_WORDS = {"date", "time", "datetime", "published", "pubdate", "timestamp", "posted", "meta", "dateline", "byline", "info", "data"}
NOT_BYLINE_WORDS = {"role", "position", "job", "bio", "desc", "description", "about", "photo", "img", "image", "avatar", "pic", "title", "social", "follow", "twitter", "email", "count", "comments"}
AUTHOR_HREF = re.compile(r"/(authors?|avtory?|avtor|writers?|journalists?|columnists?|people|profile|reporters?)(/[\w.-]+/?$|\.php\?)", re.I)
BREADCRUMB_WORDS = {"breadcrumb", "breadcrumbs", "crumbs", "path", "navchain", "breadcrumbs-list"}
HOME_WORDS = {"главная", "home", "главная страница", "новости", "news", "homepage"}
UPDATE_HINT = re.compile(r"(обновлен|изменен|оновлен|абноўлен|updated|modified|last edited|amended|actualizado|aktualisiert|mis à jour|aggiornato|atualizado)", re.I)
PUBLISH_HINT = re.compile(r"(опубликован|дата публикации|опубліковано|апублікавана|published|posted|first published|publicado|veröffentlicht|publié|pubblicato)", re.I)
CREDIT_SPLIT = re.compile(
    r"\s*(?:(?<=[.!?»\"”)])\s*)?((?:фото|фотография|photo|photograph|image|credit|иллюстрация|кадр|источник фото)\s*:.*|©.*)$",
    re.I,
)


@dataclass
class VisibleImage:
    url: str | None
    caption: str | None
    credit: str | None


@dataclass
class VisibleMeta:
    h1: str | None = None
    lead: str | None = None
    byline: list[str] = field(default_factory=list)
    date_texts: list[tuple[str, str]] = field(default_factory=list)  # (hint, text)
    time_elements: list[tuple[str, str]] = field(default_factory=list)  # (hint, datetime attr)
    # How far each date (same order as date_texts / time_elements) is from the headline: the
    # number of levels from the <h1> up to the first ancestor they share (0: inside the
    # headline's own parent). A page's own date sits with its headline; a news-feed column,
    # a "most read" list or a related story's date shares only the page's wrapper with it.
    date_distances: list[int] = field(default_factory=list)
    time_distances: list[int] = field(default_factory=list)
    images: list[VisibleImage] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    breadcrumbs: list[str] = field(default_factory=list)
    caption_texts: set[str] = field(default_factory=set)
    image_urls: set[str] = field(default_factory=set)


def split_caption(text: str) -> tuple[str | None, str | None]:
    """«Торговый порт в Баку Фото: Shutterstock/FOTODOM» → (caption, credit)."""
    text = normalize_space(text)
    if not text:
        return None, None
    match = CREDIT_SPLIT.search(text)
    if match:
        caption = normalize_space(text[: match.start(1)]) or None
        return caption, normalize_space(match.group(1))
    return text, None


def _hint_of(el: etree._Element) -> str:
    hint = normalize_space(" ".join(filter(None, [el.get("class"), el.get("id"), el.get("itemprop"), el.get("data-type")])))
    parent = el.getparent()
    if parent is not None:
        hint += " " + normalize_space(" ".join(filter(None, [parent.get("class"), parent.get("itemprop")])))
        prev_text = normalize_space((parent.text or "") + " " + (el.getprevious().tail if el.getprevious() is not None and el.getprevious().tail else ""))
        hint += " " + prev_text[-60:]
    return hint


MAX_IMAGE_BOXES = 400
"""Image boxes read per page; an article keeps at most 100 images, and a page with thousands of
photo boxes (a gallery dump, a hostile page) would otherwise cost a second per thousand."""


def read_visible(root: etree._Element) -> VisibleMeta:
    """Everything a reader sees that dates, names and illustrates the article. Dates come as
    printed texts and as instants kept in attributes (`<time datetime>`, `data-timestamp`,
    `<amp-timeago datetime>`, an ISO `title`), each with its distance from the headline (see
    `VisibleMeta.date_distances`). Pure: reads the tree, never changes it."""
    meta = VisibleMeta()
    image_boxes = 0
    body = root.find("body")
    scope = body if body is not None else root
    h1s = [h for h in scope.iter("h1") if text_of(h)]
    if h1s:
        meta.h1 = text_of(h1s[0])
    first_p_seen = False
    h1_position = -1
    bylines: list[tuple[int, etree._Element, str]] = []
    author_links: list[tuple[int, etree._Element, str]] = []
    date_els: list[etree._Element] = []
    time_els: list[etree._Element] = []
    # Short leaves with a clock time, only those that may be near the headline: the last few
    # before it and the first few after it.
    leaves: deque[tuple[int, etree._Element]] = deque(maxlen=DATE_LINE_REACH)
    leaves_after: list[tuple[int, etree._Element]] = []
    machine_els: list[etree._Element] = []  # elements other than <time> with an instant attribute
    for position, el in enumerate(scope.iter()):
        tag = tag_of(el)
        if not tag:
            continue
        if h1s and el is h1s[0]:
            h1_position = position
        words = class_words(el)
        if tag == "p" and not (words & LEAD_WORDS):
            first_p_seen = True
        if meta.lead is None and not first_p_seen and words & LEAD_WORDS and tag not in ("body", "html", "article", "main", "section"):
            text = text_of(el)
            if 30 <= len(text) <= 700 and not (meta.h1 and text == meta.h1):
                meta.lead = text
        if _is_byline(el, words) and not any(_is_byline(d, class_words(d)) for d in el.iterdescendants()):
            # Innermost byline elements only: a wrapper would glue its names together.
            text = _byline_text(el)
            if 2 <= len(text) <= 200:
                bylines.append((position, el, text))
        elif tag == "a" and AUTHOR_HREF.search(el.get("href") or "") and 2 <= len(text_of(el)) <= 80 and not _credited(el):
            author_links.append((position, el, text_of(el)))
        if tag != "time":
            keys = el.keys()
            if keys and not _MACHINE_TIME_NAMES.isdisjoint(keys):
                machine_els.append(el)
        if tag == "time":
            value = el.get("datetime") or el.get("content")
            if value:
                meta.time_elements.append((_hint_of(el), value))
                time_els.append(el)
            elif text_of(el):
                meta.date_texts.append((_hint_of(el), text_of(el)))
                date_els.append(el)
        elif _is_date_box(words) and tag not in ("body", "html", "article", "main") and len(text_of(el)) <= 160:
            text = text_of(el)
            if text:
                machine = _title_instant(el)
                if machine:
                    meta.time_elements.append((f"@title {_hint_of(el)}", machine))
                    time_els.append(el)
                meta.date_texts.append((_hint_of(el) + " " + text, _with_clock_nearby(el, text)))
                date_els.append(el)
        elif (h1_position < 0 or position - h1_position <= DATE_LINE_REACH) and len(el) == 0:
            text = el.text
            if text and len(text) <= 60 and _CLOCK.search(text):
                (leaves if h1_position < 0 else leaves_after).append((position, el))
        if (tag in ("figure", "amp-img") or "gallery" in words or "photo" in words) and image_boxes < MAX_IMAGE_BOXES:
            image_boxes += 1
            _collect_image(el, meta)
        if (words & {"tags", "taglist", "tag", "keywords", "topics"}) and tag in ("div", "ul", "section", "p", "nav"):
            for a in el.iter("a"):
                t = text_of(a).lstrip("#")
                if t and len(t) < 60 and t not in meta.tags:
                    meta.tags.append(t)
        if words & BREADCRUMB_WORDS and not meta.breadcrumbs:
            crumbs = [normalize_space(c) for c in re.split(r"[»›>/|→]", text_of(el))]
            crumbs = [c for c in crumbs if c and c.lower() not in HOME_WORDS]
            if crumbs:
                meta.breadcrumbs = crumbs
    meta.byline = _first_cluster(bylines, h1_position) or _first_cluster(author_links, h1_position)
    _add_machine_times(machine_els, meta, time_els)
    _add_date_lines_by_headline([*leaves, *leaves_after], h1_position, meta, date_els)
    if len(date_els) + len(time_els) > 1:  # one date needs no ranking
        nearness = _Nearness(h1s[0] if h1s else None)
        meta.date_distances = [nearness.of(el) for el in date_els]
        meta.time_distances = [nearness.of(el) for el in time_els]
    else:
        meta.date_distances, meta.time_distances = [0] * len(date_els), [0] * len(time_els)
    # Old-school pages: credits printed as a line right under the image.
    for img in scope.iter("img"):
        if img.get("src") and img.get("src") not in meta.image_urls:
            caption = img.get("alt") or None
            nxt = img.getnext()
            credit = None
            tail = normalize_space(img.tail or "")
            if tail and CREDIT_SPLIT.search(tail):
                caption_part, credit = split_caption(tail)
                caption = caption_part or caption
            elif nxt is not None and tag_of(nxt) in ("span", "div", "p", "small", "i", "em", "font", "br"):
                line = text_of(nxt) if tag_of(nxt) != "br" else normalize_space(nxt.tail or "")
                if line and len(line) < 300 and CREDIT_SPLIT.search(line):
                    caption_part, credit = split_caption(line)
                    caption = caption_part or caption
                    meta.caption_texts.add(line)
            if credit:
                meta.images.append(VisibleImage(img.get("src"), caption, credit))
                meta.image_urls.add(img.get("src"))
    return meta


# A clock time: «14:35», "9:05 AM", "2.35pm" (with a zone after it, "9:05 AM GMT").
_CLOCK = re.compile(r"(?<![\d.:/])\d{1,2}[:.]\d{2}(?![\d.:/])")
_CLOCK_WITH_ZONE = re.compile(
    r"(?<![\d.:/])\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?![\d/])\s*(?:[ap]\.?m\.?)?(?:\s*\(?(?:[A-ZА-Я]{2,5}|(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?)\)?(?![\w]))?", re.I)
# A day printed with a month or a year («3 декабря», "December 3", «03.12.2026», "2026-12-03").
_DAY = re.compile(r"\d{1,2}\s*[^\W\d_]{3,}|[^\W\d_]{3,}\.?\s+\d{1,2}\b|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")
# Attributes in which scripts keep an element's instant (Unix time or ISO 8601) for
# rendering it in the reader's clock: the server sends the element empty, or "3 hours ago".
_MACHINE_TIME_ATTRIBUTES = ("datetime", "data-timestamp", "data-time", "data-date", "data-datetime", "data-published",
                            "data-pubdate", "data-publish-date", "data-published-at", "data-utime", "data-unixtime")
_MACHINE_TIME_NAMES = frozenset(_MACHINE_TIME_ATTRIBUTES)
_EPOCH_VALUE = re.compile(r"\s*(?:\d{10}|\d{13})(?:\.\d+)?\s*")


def _machine_time(value: str | None) -> bool:
    """An attribute value that is an instant: Unix time, or ISO 8601 with a time of day (a bare
    day in data-date is a calendar widget's cell, not a publication time)."""
    return bool(value) and bool(_EPOCH_VALUE.fullmatch(value) or _ISO_INSTANT.fullmatch(value))  # type: ignore[arg-type]


def _add_machine_times(found: list[etree._Element], meta: VisibleMeta, time_els: list[etree._Element]) -> None:
    """Instants kept in attributes of elements other than <time>: `<amp-timeago datetime=…>`,
    `<span data-timestamp="1796272500">` (Unix seconds), `data-time` in milliseconds."""
    for el in found:
        if tag_of(el) in ("ins", "del"):
            continue  # their datetime dates an edit, not the page
        attribute = next((a for a in _MACHINE_TIME_ATTRIBUTES if _machine_time(el.get(a))), None)
        if attribute:
            meta.time_elements.append((f"@{attribute} {_hint_of(el)}", el.get(attribute).strip()))  # type: ignore[union-attr]
            time_els.append(el)


def _title_instant(el: etree._Element) -> str | None:
    """The instant a date element keeps in a `title` (hAtom's `<abbr class="published"
    title="2026-12-03T09:10:00+07:00">3 декабря 2026</abbr>`), itself or a descendant's."""
    for node in el.iter():
        title = node.get("title") if isinstance(node.tag, str) else None
        if title and _ISO_INSTANT.fullmatch(title):
            return title.strip()
    return None


def _with_clock_nearby(el: etree._Element, text: str) -> str:
    """A printed day with its clock time when the page prints the two apart: in a tooltip
    (uCoz: `<span class="ed-value" title="14:35">03.12.2026</span>`), in two children of the
    date box, or in the next element (`<span class="date">3 декабря 2026</span> <span
    class="time">14:35</span>`, "Thursday 3 December 2026" then "Published 9:05 AM GMT").
    A tooltip that prints the whole date with its time ("2 hours ago" titled "Dec 3, 2026,
    8:05 AM EST") is the date."""
    titles = [t for t in (node.get("title") for node in el.iter() if isinstance(node.tag, str)) if t]
    for title in titles:
        if len(title) <= 60 and _CLOCK.search(title) and not _ISO_INSTANT.fullmatch(title):
            found = parse_text_date(title)
            if found and (found[0].hour, found[0].minute) != (0, 0):
                return normalize_space(title)
    if len(el) >= 2:
        parts = [text_of(child) for child in el if isinstance(child.tag, str)]
        days = [part for part in parts if _DAY.search(part) and not _CLOCK.search(part)]
        clocks = [c for c in (_only_clock(part) for part in parts) if c]
        if len(days) == 1 and len(clocks) == 1:
            return f"{days[0]}, {clocks[0]}"  # "Thursday 3 December 2026" + "Published 9:05 AM GMT"
    if _CLOCK.search(text) or not _DAY.search(text):
        return text
    for title in titles:
        clock = _only_clock(title)
        if clock:
            return f"{text}, {clock}"
    sibling = el.getnext()
    for _ in range(2):
        if sibling is None:
            break
        if isinstance(sibling.tag, str):
            near = text_of(sibling)
            clock = _only_clock(near)
            if clock:
                return f"{text}, {clock}"
            if near:
                break
        sibling = sibling.getnext()
    return text


def _only_clock(text: str | None) -> str | None:
    """The clock time of a short text that holds a time and no other number ("14:35",
    "Published 9:05 AM GMT"), else None."""
    if not text or len(text) > 40:
        return None
    clock = _CLOCK_WITH_ZONE.search(text)
    if clock is None or re.search(r"\d", text[: clock.start()] + text[clock.end():]):
        return None
    return clock.group(0).strip()


# How many elements around the headline a date line without a date class may stand and still
# be the article's: a rubric-and-date row above the <h1>, a date line under it.
DATE_LINE_REACH = 25


def _add_date_lines_by_headline(leaves: list[tuple[int, etree._Element]], h1_position: int, meta: VisibleMeta,
                                date_els: list[etree._Element]) -> None:
    """Short elements next to the headline whose whole text is a day and a clock time
    (`<span>03.12.2026 12:40</span>` in a rubric row) are date lines, whatever their class;
    farther away such a line may date anything (a comment, a related story)."""
    if h1_position < 0:
        return
    for position, el in leaves:
        if abs(position - h1_position) > DATE_LINE_REACH or el in date_els:
            continue
        text = normalize_space(el.text or "")
        found = parse_text_date(text) if len(text) <= 40 and _DAY.search(text) else None  # a bare «21:40» is no date line
        if found and (found[0].hour, found[0].minute) != (0, 0):
            meta.date_texts.append(("date line by the headline " + text, text))
            date_els.append(el)


# Added to the distance of a date that belongs to a teaser: behind every date that does not.
TEASER_PENALTY = 100
TEASER_LINK_WORDS = 4
TEASER_BOX_CHARS = 300


def _dates_a_teaser(el: etree._Element) -> bool:
    """A date printed beside a link to another story (a headline of four words or more, in the
    date's own box or the box around it: a news-feed item, a "read also" box, a "most read"
    entry) dates that story, not the page's (a byline's author link has fewer words)."""
    for box in (el, el.getparent()):
        # the box around the date, when it is a small one (an item of a list, not the article)
        if box is None or tag_of(box) in ("body", "html", "article", "main") or len(text_of(box)) > TEASER_BOX_CHARS:
            continue
        for link in box.iter("a"):
            if len(text_of(link).split()) >= TEASER_LINK_WORDS:
                return True
    return False


class _Nearness:
    """How near a date is to the headline: the levels from the headline up to the first
    ancestor it shares with the date (0 for every date when there is no headline), plus
    TEASER_PENALTY for a date that belongs to a teaser."""

    def __init__(self, headline: etree._Element | None) -> None:
        # Keyed by the elements themselves: lxml keeps one proxy per live node, so they stay
        # the same objects while the dict holds them (ids of freed proxies are reused).
        self.chain = {node: depth for depth, node in enumerate([headline, *headline.iterancestors()])} if headline is not None else {}

    def of(self, el: etree._Element) -> int:
        penalty = TEASER_PENALTY if _dates_a_teaser(el) else 0
        if not self.chain:
            return penalty
        node: etree._Element | None = el
        while node is not None:
            depth = self.chain.get(node)
            if depth is not None:
                return depth + penalty
            node = node.getparent()
        return len(self.chain) + penalty


def _byline_text(el: etree._Element) -> str:
    """The byline's words with a space between elements, leaving out roles, bios and avatars."""
    parts: list[str] = []
    skip: set[etree._Element] = set()
    for node in el.iter():
        if node is not el and class_words(node) & NOT_BYLINE_WORDS:
            skip.update(node.iter())
        if node in skip or not isinstance(node.tag, str):
            continue
        if node.text:
            parts.append(node.text)
        parts.extend(child.tail for child in node if child.tail)
    return normalize_space(" ".join(parts))


def _is_date_box(words: set[str]) -> bool:
    """Class words of an element that prints a date: date, ndate, pubdate, news-time, dateline…"""
    return bool(words & DATE_WORDS) or any("date" in w or w.endswith("time") or w == "ts" for w in words)


def _is_byline(el: etree._Element, words: set[str]) -> bool:
    if words & NOT_BYLINE_WORDS:
        return False
    return bool(words & BYLINE_WORDS) or (el.get("rel") or "").lower() == "author" or (el.get("itemprop") or "").lower() == "author"


_CREDIT_BEFORE = re.compile(r"(фото|фотограф\w*|photo\w*|иллюстрац\w*|image|credit)\s*:?\s*$", re.I)


def _credited(el: etree._Element) -> bool:
    """True when the text right before `el` says it is a photo credit («Фото: <a>…</a>»)."""
    prev = el.getprevious()
    before = (prev.tail if prev is not None else el.getparent().text if el.getparent() is not None else "") or ""
    return bool(_CREDIT_BEFORE.search(before))


def _first_cluster(found: list[tuple[int, etree._Element, str]], h1_position: int) -> list[str]:
    """The byline next to the headline: the first one after the h1 and its siblings.

    Pages also carry bylines of other articles (sidebars, "more from", comments);
    the article's own is the first after its headline.
    """
    if not found:
        return []
    after = [f for f in found if f[0] > h1_position] or found
    first_pos, first_el, _ = after[0]
    parent = first_el.getparent()
    cluster = [text for pos, el, text in after if el is first_el or (parent is not None and el.getparent() is parent) or pos - first_pos < 12]
    return cluster[:6]


def _collect_image(el: etree._Element, meta: VisibleMeta) -> None:
    url = None
    for img in el.iter("img", "amp-img", "source"):
        url = img.get("src") or img.get("data-src") or (img.get("srcset") or "").split(" ")[0] or None
        if url:
            break
    captions = [c for c in el.iter("figcaption")] or [c for c in el.iter() if class_words(c) & {"caption", "description", "desc", "podpis"}]
    caption_text = text_of(captions[0]) if captions else ""
    credit = None
    credit_els = [c for c in el.iter() if class_words(c) & {"credit", "credits", "copyright", "author", "source", "photographer"}]
    if credit_els:
        credit = text_of(credit_els[0]) or None
        if credit and caption_text.endswith(credit):
            caption_text = normalize_space(caption_text[: -len(credit)])
    caption, split_credit = split_caption(caption_text) if caption_text else (None, None)
    credit = credit or split_credit
    if caption_text:
        meta.caption_texts.add(normalize_space(caption_text))
    if caption:
        meta.caption_texts.add(caption)
    if credit:
        meta.caption_texts.add(credit)
    if (url or caption or credit) and not (url and url in meta.image_urls):
        meta.images.append(VisibleImage(url, caption, credit))
        if url:
            meta.image_urls.add(url)

"""Finding the article text in the visible page.

1. Strip what is never article text: scripts, navigation, forms, figures (captions
   and credits go to `images`), and elements whose class or id names boilerplate
   (share, related, comments, ads, newsletter, pull-quotes, bylines…). An element
   is kept anyway when it holds most of the page's paragraph text: a container
   called "article-body with-share" is still the article.
2. Score every element by the paragraph text under it: good text (long, few links)
   counts for it, link-heavy text against it. The best-scoring element is the
   article container; `itemprop=articleBody` or a site rule wins outright.
3. Read the container's blocks in order (paragraphs, in-text headings, list items,
   quotes, `<br>`-separated text) and drop what slipped through: captions and
   credits, bylines and datelines, "read also" lines, repeated pull-quotes.

The result carries a confidence; below a threshold the caller asks trafilatura
for a second opinion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from services.parser.document import css, link_density, normalize_space, tag_of

REMOVE_TAGS = {
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "form", "button", "input", "select",
    "textarea", "nav", "footer", "aside", "figure", "figcaption", "picture", "video", "audio", "object", "embed",
    "dialog", "menu", "amp-ad", "amp-embed", "amp-iframe", "amp-video", "amp-carousel", "amp-social-share",
    "amp-analytics", "amp-img", "amp-sidebar", "amp-consent", "amp-list", "amp-youtube", "img", "time", "head",
}
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "td", "th", "summary"}
LAYOUT_TAGS = {"div", "section", "article", "main", "center", "body", "header", "ul", "ol", "table", "tbody", "tr", "dl", "details"}
INLINE_TAGS = {
    "a", "span", "font", "b", "strong", "em", "i", "u", "small", "sup", "sub", "mark", "cite", "q", "abbr", "s",
    "strike", "del", "ins", "code", "kbd", "var", "label", "br", "wbr", "bdi", "bdo", "big", "tt", "nobr",
}

BOILERPLATE_WORDS = {
    "share", "sharing", "shares", "social", "socials", "related", "relatedposts", "recommend", "recommended",
    "recommendations", "readalso", "readmore", "seealso", "also", "comment", "comments", "commentlist",
    "subscribe", "subscription", "newsletter", "promo", "advert", "advertisement", "ad", "ads", "adv", "advt",
    "banner", "sidebar", "widget", "breadcrumb", "breadcrumbs", "tags", "taglist", "tag", "byline", "bio",
    "caption", "credit", "credits", "pullquote", "mostread", "mostviewed", "popular", "trending", "cookie",
    "cookies", "consent", "gdpr", "paywall", "teaser", "teasers", "nav", "navigation", "navbar", "menu", "footer",
    "masthead", "toolbar", "print", "rating", "poll", "sponsored", "outbrain", "taboola", "disqus", "donate",
    "signup", "follow", "hidden", "hide", "sr", "screenreader", "visuallyhidden", "modal", "popup", "overlay",
    "chronicle", "hronika", "timeline", "infobox", "inread", "embed", "player", "gallery", "slider", "carousel",
    "dateline", "date", "datetime", "published", "updated", "meta", "author", "authors", "lead", "standfirst",
    "subtitle", "dek", "headline", "title", "kicker", "rubric", "readnext", "next", "prev", "pagination",
    "feedback", "rss", "counter", "stats", "views", "likes", "reactions", "emoji", "complementary",
    "contentinfo", "banner", "search", "login", "header", "logo", "topbar", "ticker",
    # embedded social posts, appeals for money or sign-ups
    "twitter", "tweet", "twittertweet", "instagram", "instagrammedia", "tiktok", "tiktokembed", "facebook", "fbpost",
    "telegrampost", "vkpost", "socialembed", "appeal", "donation", "donations", "contribute", "contribution",
    "membership", "supporter", "supportus",
}
# Class words that mark a container of the article text: never removed as boilerplate.
CONTENT_WORDS = {"articlebody", "articletext", "storybody", "entrycontent", "postcontent", "articlecontent"}
_HEADING_WORDS = {"title", "headline"}
BOILERPLATE_ROLES = {"navigation", "banner", "complementary", "contentinfo", "search", "dialog", "alert", "menu", "menubar"}

_SPLIT_WORDS = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
_BOILERPLATE_LINE = re.compile(
    r"^(читайте( также)?|смотрите также|см\. также|по теме|подписывайтесь|подпишитесь|поделиться|реклама|"
    r"источник|фото|фотография|иллюстрация|видео|теги|метки|read more|read also|related|see also|more on this|"
    r"advertisement|sponsored|share( this)?|follow us|sign up|subscribe|photograph|photo|image|credit|tags|topics|"
    r"reporting by|editing by|writing by|additional reporting|this article was amended|this story has been|"
    r"комментари|все новости|новости по теме|хроника|ещё по теме|еще по теме|ранее|также читайте|"
    r"продолжение на следующей странице|следующая страница|страницы:|continued on (the )?next page|next page|page \d+ of \d+|"
    r"другие новости|другие материалы|новости раздела|support (?:our|local|independent) journalism|"
    r"become a (?:supporter|member)|make a contribution|donate now|поддержите (?:нас|редакцию|проект|журналистику)|"
    r"поддержать (?:нас|редакцию|проект))\b",
    re.I,
)
_READ_MORE = re.compile(r"^(read more|читайте также|read also|по теме|смотрите также|more:)\s*[:：]", re.I)
_CREDIT = re.compile(
    r"(^|\s)(фото|фотография|photo|photograph|image|credit|иллюстрация|кадр|скриншот)\s*:|©|\bgetty images\b|\breuters\b\s*$|/\s*(тасс|риа|reuters|ap|afp|pool|epa)\b",
    re.I,
)
_BYLINE = re.compile(r"^(текст|автор|авторы|by|written by|от|беседовал[аи]?)\s*[:：]?\s+\S", re.I)
_DATELINE_PREFIX = re.compile(r"^[A-ZА-ЯЁ][A-ZА-ЯЁ .'’-]{1,40},\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2}\s+\([^)]{1,40}\)\s*[-–—]\s+")


@dataclass
class Block:
    text: str
    tag: str
    link_density: float


@dataclass
class BodyResult:
    paragraphs: list[str]
    confidence: float
    method: str  # "site-rule" | "microdata" | "scored"
    container: etree._Element | None = None
    signatures: list[str] = field(default_factory=list)
    """Byline lines found inside the text («Текст: Иван Петров», a name alone at the end)."""
    posts: list[tuple[int, str]] = field(default_factory=list)
    """Live-blog posts: (index of the post's first paragraph, the post's time as the page gives it)."""

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def class_words(el: etree._Element) -> frozenset[str]:
    """The words of an element's class and id, lowercased, split on -, _ and spaces (and joined)."""
    return _class_words(el.get("class"), el.get("id"))


@lru_cache(maxsize=4096)
def _class_words(class_attr: str | None, id_attr: str | None) -> frozenset[str]:
    # Pages repeat a few class strings over thousands of elements: split each once (keyed by the
    # raw attributes, so a repeat costs one dictionary look-up and no string building).
    words: set[str] = set()
    for token in f"{class_attr or ''} {id_attr or ''}".lower().split():
        words.add(token.replace("-", "").replace("_", ""))
        words.update(w for w in _SPLIT_WORDS.split(token) if w)
    return frozenset(words)


def _is_boilerplate_element(el: etree._Element) -> bool:
    role = (el.get("role") or "").lower()
    if role in BOILERPLATE_ROLES:
        return True
    if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    words = class_words(el)
    if not words:
        return False
    if words & CONTENT_WORDS:
        return False
    if tag_of(el) in ("h2", "h3", "h4", "h5", "h6") and not any(tag_of(a) == "a" for a in el.iterancestors()) \
            and link_density(el) < 0.5:
        words = words - _HEADING_WORDS  # a live post's or a section's own heading is text (a teaser's is a link)
    return bool(words & BOILERPLATE_WORDS)


def _paragraph_text_len(el: etree._Element) -> int:
    return sum(len(normalize_space(p.text_content())) for p in el.iter("p"))


def clean_tree(root: etree._Element, protect: list[etree._Element] | None = None) -> None:
    """Remove never-text elements and class-named boilerplate, in place."""
    protected = set(protect or [])
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    total_p = _paragraph_text_len(root) or 1
    doomed = []
    for el in root.iter():
        tag = tag_of(el)
        if not tag or el in protected:
            if not tag:
                doomed.append(el)  # comments, processing instructions
            continue
        if tag in REMOVE_TAGS or (tag == "header" and el.getparent() is not None and tag_of(el.getparent()) == "body"):
            doomed.append(el)
        elif tag not in ("html", "body", "p") and _is_boilerplate_element(el):
            # Safety valve: an element holding most of the text is the article, whatever its class.
            if _paragraph_text_len(el) < 0.4 * total_p:
                doomed.append(el)
    for el in doomed:
        if not _has_protected(el, protected):
            _drop_keep_tail(el)


def _has_protected(el: etree._Element, protected: set[etree._Element]) -> bool:
    return any(p in protected for p in el.iter()) if protected else False


def _drop_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _own_text(el: etree._Element) -> str:
    """Text directly in `el` and in its inline children (not in nested blocks)."""
    parts = [el.text or ""]
    for child in el:
        if tag_of(child) in INLINE_TAGS:
            parts.append(child.text_content() or "")
        parts.append(child.tail or "")
    return "".join(parts)


def _has_block_child(el: etree._Element) -> bool:
    for child in el.iter():
        if child is el:
            continue
        tag = tag_of(child)
        if tag in BLOCK_TAGS or tag in ("div", "section", "article", "ul", "ol", "table"):
            return True
    return False


def iter_blocks(container: etree._Element) -> list[tuple[etree._Element, Block]]:
    """Leaf text blocks under `container` in document order."""
    blocks = []
    for el in container.iter():
        tag = tag_of(el)
        if not tag:
            continue
        if tag in BLOCK_TAGS:
            if tag in ("blockquote", "li", "td", "th", "dd") and _has_block_child(el):
                # Its paragraphs are blocks of their own; keep only loose text.
                blocks.extend((el, Block(piece, tag, 0.0)) for piece in _split_lines(_own_text(el)))
                continue
            raw = el.text_content() or ""
            text = normalize_space(raw)
            if not text:
                continue
            density = link_density(el, len(text))
            for piece in _split_lines(raw) if "\n" in raw and tag == "p" else [text]:
                blocks.append((el, Block(piece, tag, density)))
        elif tag in LAYOUT_TAGS:
            own = _own_text(el)
            if len(normalize_space(own)) >= 20:
                density = 0.0
                links = [c for c in el if tag_of(c) == "a"]
                if links:
                    density = min(1.0, sum(len(normalize_space(a.text_content())) for a in links) / max(1, len(normalize_space(own))))
                for piece in _split_lines(own):
                    blocks.append((el, Block(piece, "div", density)))
    return blocks


def _split_lines(raw: str) -> list[str]:
    """Non-empty lines (`<br>` became a newline in `clean_tree`), whitespace collapsed."""
    return [line for line in (normalize_space(p) for p in raw.split("\n")) if line]


CAPTION_MAX_CHARS = 300


def _is_icon(img: etree._Element) -> bool:
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().rstrip("px")
        if value.isdigit() and int(value) <= 32:
            return True
    return False


MAX_CAPTION_IMAGES = 400


def captions_near_images(root: etree._Element) -> set[str]:
    """Texts that sit with an image in a small box: captions and credits, whatever the markup.

    Old templates put captions in table cells, spans or divs without any class
    that says so. The smallest ancestor of an image that has text at all is its
    caption box when that text is short; every line of it is a caption.
    """
    found: set[str] = set()
    for count, img in enumerate(root.iter("img", "amp-img")):
        if count == MAX_CAPTION_IMAGES:
            break  # a caption past the first few hundred images is one the body scorer can do without
        if _is_icon(img):
            continue
        for attr in ("alt", "title"):
            value = normalize_space(img.get(attr))
            if len(value) >= 15:
                found.add(value)
        node = img.getparent()
        for _ in range(4):
            if node is None or tag_of(node) in ("body", "html", "article", "main"):
                node = None
                break
            if normalize_space(node.text_content()):
                break
            node = node.getparent()
        if node is None:
            continue
        text = normalize_space(node.text_content())
        if not text or len(text) > CAPTION_MAX_CHARS:
            continue
        found.add(text)
        for el in node.iter():
            if tag_of(el) and tag_of(el) not in INLINE_TAGS:
                piece = normalize_space(el.text_content())
                if piece:
                    found.add(piece)
            for piece in _split_lines(_own_text(el) if tag_of(el) else ""):
                found.add(piece)
    return found


def _block_score(block: Block) -> float:
    """Readability-style weight of one text block: length, commas, few links."""
    length = len(block.text)
    if length < 25:
        return 0.0
    score = 1.0 + block.text.count(",") + min(length / 100.0, 3.0)
    if block.tag in ("li", "td", "th", "dd"):
        score *= 0.5
    return score * (1.0 - block.link_density)


def _holder(el: etree._Element) -> etree._Element | None:
    return el if tag_of(el) in LAYOUT_TAGS else el.getparent()


def _score_containers(root: etree._Element) -> tuple[list[etree._Element], float, int]:
    """The article's container(s): the best-scoring element and its kindred siblings.

    Each block credits its holder fully and the holder's parent by half, so the
    winner is the tightest element around the article's paragraphs, not the page
    around it (a sidebar with more text but in separate boxes does not win).
    Siblings of the winner that carry paragraphs of their own are added back: an
    article split by an ad or a "read also" box into several wrappers stays whole.
    """
    scores: dict[etree._Element, float] = {}
    counts: dict[etree._Element, int] = {}
    for el, block in iter_blocks(root):
        value = _block_score(block)
        if value <= 0:
            continue
        holder = _holder(el)
        if holder is None:
            continue
        scores[holder] = scores.get(holder, 0.0) + value
        counts[holder] = counts.get(holder, 0) + 1
        parent = holder.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0.0) + value / 2
            counts[parent] = counts.get(parent, 0) + 1
    if not scores:
        return [], 0.0, 0
    final = {node: value * (1.0 - link_density(node)) for node, value in scores.items() if tag_of(node) not in BLOCK_TAGS or tag_of(node) == "td"}
    best = max(final, key=final.__getitem__)
    best_score = final[best]
    chosen = [best]
    parent = best.getparent()
    if parent is not None:
        threshold = max(10.0, 0.2 * best_score)
        for sibling in parent:
            if sibling is best or not tag_of(sibling):
                continue
            same_kind = tag_of(sibling) == tag_of(best) and (sibling.get("class") or "") == (best.get("class") or "") and best.get("class")
            if final.get(sibling, 0.0) >= threshold or (same_kind and final.get(sibling, 0.0) > 0):
                # Repeated wrappers of the same class are one article cut by ads.
                chosen.append(sibling)
            elif tag_of(sibling) == "p":
                text = normalize_space(sibling.text_content())
                density = link_density(sibling, len(text))
                if (len(text) >= 80 and density < 0.25) or (0 < len(text) < 80 and density == 0 and text[-1:] in ".!?…»\""):
                    chosen.append(sibling)
    good_blocks = counts.get(best, 0)
    repeated = _repeated_blocks(best, final)
    if repeated:
        chosen = repeated
        good_blocks = max(good_blocks, sum(counts.get(el, 0) for el in repeated))
    top = chosen[0].getparent() if chosen[0].getparent() is not None else parent
    order = {el: i for i, el in enumerate(top.iter())} if top is not None else {}
    chosen.sort(key=lambda el: order.get(el, 0))
    return chosen, best_score, good_blocks


def _signature(el: etree._Element) -> tuple[str, str]:
    classes = (el.get("class") or "").split()
    return tag_of(el), classes[0] if classes else ""


def _repeated_blocks(best: etree._Element, final: dict[etree._Element, float]) -> list[etree._Element]:
    """The article's text repeated in sibling boxes of one kind around the best element.

    A body split into several `div.story-block` wrappers, or a live blog's posts in
    nested `<article class="post">` elements: the best-scoring element is the text of
    one box only. Up to three levels above it, the first ancestor whose siblings of the
    same tag and first class also hold text gives every such sibling (in order).
    """
    node = best
    for _ in range(3):
        parent = node.getparent()
        if parent is None or tag_of(parent) in ("body", "html"):
            return []
        kind = _signature(node)
        if kind[1] or kind[0] in ("article", "section"):
            same = [sib for sib in parent if tag_of(sib) and _signature(sib) == kind]
            with_text = [sib for sib in same if any(final.get(d, 0.0) > 0 for d in sib.iter())]
            # Boxes of headlines linking elsewhere are a section front's teasers, not a body.
            links = sum(1 for sib in with_text for _ in sib.iter("a"))
            if len(with_text) >= 2 and links < 3 * len(with_text) and all(link_density(sib) < 0.35 for sib in with_text):
                return with_text
        node = parent
    return []


_DATE_LABEL = re.compile(
    r"^(?:последнее обновление|последнее изменение|обновлено|изменено|опубликовано|дата публикации|"
    r"last updated|last modified|updated|published|posted)\b[\s:()]*\d", re.I)


def _is_noise(text: str, density: float, tag: str) -> bool:
    if density > 0.6 and len(text) < 300:
        return True
    if len(text) < 60 and _DATE_LABEL.match(text):
        return True  # «Последнее обновление ( 08.10.2025 )»: a date line, not text
    if _READ_MORE.match(text) or (_BOILERPLATE_LINE.match(text) and (len(text) < 160 or _READ_MORE.match(text))):
        return True
    if len(text) < 200 and _CREDIT.search(text) and (text.lower().startswith(("фото", "photo", "image", "credit", "иллюстрация")) or "©" in text or len(text) < 90):
        return True
    if _BYLINE.match(text) and len(text) < 120:
        return True
    if tag in ("li", "td", "th", "dd") and density > 0.4:
        return True
    return False


MAX_PULL_QUOTES = 40
_QUOTE_BOX_WORDS = {"quote", "pullquote", "quotebox", "blockquote", "pull", "citation", "highlight"}


def _in_quote_box(el: etree._Element, containers: list[etree._Element]) -> bool:
    """Inside a quotation box of the layout (a <blockquote> or an element whose class says quote)."""
    node: etree._Element | None = el
    while node is not None and node not in containers:
        if tag_of(node) == "blockquote" or class_words(node) & _QUOTE_BOX_WORDS:
            return True
        node = node.getparent()
    return False


def _drop_pull_quotes(paragraphs: list[str], candidates: set[int]) -> list[str]:
    """Pull-quotes: a quotation box whose whole text repeats part of another paragraph.

    Decided by the layout (the line sits in a quote box) and the text together: a
    quotation box with words of its own (a statement quoted in full) stays.
    """
    if not candidates or len(candidates) > MAX_PULL_QUOTES:
        return paragraphs  # a page of quotation boxes is not a layout with a few pull-quotes
    out = []
    for i, text in enumerate(paragraphs):
        key = text.strip("«»\"“”„' ").lower()
        if i in candidates and key and any(
                j != i and j not in candidates and len(other) > len(key) and key in other.lower()
                for j, other in enumerate(paragraphs)):
            continue
        out.append(text)
    return out


def _dedupe(paragraphs: list[str]) -> list[str]:
    """Drop lines that repeat a whole earlier line (case and surrounding quotation marks aside).

    Only whole lines: a short list item or heading that also appears inside a longer
    line ("Штрафы за шум" in a paragraph listing the changes) is text, and stays.
    """
    out: list[str] = []
    seen: set[str] = set()
    for text in paragraphs:
        key = text.strip("«»\"“”„' ").lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    return out


def extract_body(root: etree._Element, *, rule: str | None = None, exclude: list[str] | None = None,
                 microdata_body: etree._Element | None = None, drop_texts: set[str] | None = None) -> BodyResult:
    """The article's paragraphs from a page tree (which is modified: pass a copy if you need it)."""
    for selector in exclude or []:
        for el in css(root, selector):
            _drop_keep_tail(el)
    container = None
    method = "scored"
    if rule:
        found = css(root, rule)
        if found:
            container, method = found[0], "site-rule"
    if container is None and microdata_body is not None and len(normalize_space(microdata_body.text_content())) > 200:
        container, method = microdata_body, "microdata"
    image_captions = captions_near_images(root)
    times = _times_by_ancestor(root)
    clean_tree(root, protect=[container] if container is not None else None)
    if container is not None and container.getroottree().getroot() is not root.getroottree().getroot():
        container = None
    confidence = 0.95 if method == "site-rule" else 0.85
    containers = [container] if container is not None else []
    if container is None:
        containers, score, good_blocks = _score_containers(root)
        if not containers:
            return BodyResult([], 0.0, "scored")
        container = containers[0]
        confidence = min(0.9, 0.3 + 0.08 * good_blocks + score / 400)
    drop = {normalize_space(t).lower() for t in (drop_texts or set()) | image_captions if t}
    paragraphs = []
    signatures = []
    pull_quotes: set[int] = set()
    first_of: dict[int, etree._Element] = {}
    post_times = {id(c): times[c] for c in containers if c in times} if len(containers) > 1 else {}
    for owner, el, block in ((c, el, block) for c in containers for el, block in iter_blocks(c)):
        text = block.text
        if block.tag == "h1":
            continue
        if _in_quote_box(el, containers):
            pull_quotes.add(len(paragraphs))
        if text.lower() in drop:
            continue
        if _BYLINE.match(text) and len(text) < 160:
            signatures.append(text)
            continue
        if _is_noise(text, block.link_density, block.tag):
            continue
        if id(owner) in post_times and all(o is not owner for o in first_of.values()):
            first_of[len(paragraphs)] = owner
        paragraphs.append(text)
    starts = {i: paragraphs[i] for i in first_of if i < len(paragraphs)}
    paragraphs = _drop_pull_quotes(paragraphs, pull_quotes)
    if paragraphs:
        paragraphs[0] = _DATELINE_PREFIX.sub("", paragraphs[0])
    paragraphs, trailing = _strip_edges(_dedupe(paragraphs))
    signatures.extend(trailing)
    if method == "scored" and len(paragraphs) < 3:
        confidence = min(confidence, 0.4)
    posts: list[tuple[int, str]] = []
    cursor = 0
    for i in sorted(starts):
        found = next((k for k in range(cursor, len(paragraphs)) if paragraphs[k] == starts[i]), None)
        if found is not None:
            posts.append((found, post_times[id(first_of[i])]))
            cursor = found + 1
    return BodyResult(paragraphs, round(confidence, 3), method, container, signatures, posts if len(posts) > 1 else [])


_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b")


def _times_by_ancestor(root: etree._Element) -> dict[etree._Element, str]:
    """Every element → the first time printed inside it (a `<time datetime>`, or a short
    element whose class says time/date and that shows a clock time): how live posts keep
    their times after `clean_tree` has removed the time elements."""
    out: dict[etree._Element, str] = {}
    for el in root.iter():
        tag = tag_of(el)
        if not tag:
            continue
        value = None
        if tag == "time":
            value = el.get("datetime") or normalize_space(el.text_content()) or None
        elif class_words(el) & {"time", "date", "datetime", "timestamp"} and len(el) <= 2:
            text = normalize_space(el.text_content())
            if len(text) <= 40 and _CLOCK.search(text):
                value = text
        if not value:
            continue
        for ancestor in el.iterancestors():
            if ancestor in out:
                break  # and so are all of its ancestors
            out[ancestor] = value
    return out


_DATE_ONLY = re.compile(r"^[\W\d]*(\d{1,2}[.:/]\d{1,2}|\d{4})[\d\s.,:/\-–—|]*(?:[A-ZА-Яа-яё]{0,4}\.?)?$")
_NAME_ONLY = re.compile(r"^[A-ZА-ЯЁ][\w'’-]+(?:\s+[A-ZА-ЯЁ][\w'’.-]+){1,3}$")


def _strip_edges(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    """Drop date lines, widget labels and signatures around and after the text.

    Returns (paragraphs, signatures): a name standing alone after the last
    paragraph is the author's signature, not text.
    """
    from services.parser.dates import parse_text_date

    signatures: list[str] = []
    kept = [p for p in paragraphs if not (len(p) < 40 and _DATE_ONLY.match(p))]
    while kept and len(kept[0]) < 80 and parse_text_date(kept[0]) is not None and len(kept[0].split()) <= 8:
        kept = kept[1:]
    while kept:
        last = kept[-1]
        if len(last) < 120 and (_CREDIT.search(last) or _BOILERPLATE_LINE.match(last)):
            kept.pop()
        elif len(last) < 60 and last.endswith(":"):
            kept.pop()
        elif len(last) < 60 and _NAME_ONLY.match(last) and len(kept) > 2:
            signatures.append(kept.pop())
        else:
            break
    return kept, signatures

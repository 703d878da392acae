"""Loading HTML safely, and small helpers over lxml trees.

Pages on the web are broken in every way: empty, binary, gigantic, 100k levels deep,
100k elements wide. `load_html` returns a bounded `Page` or a `Rejected`, never raises,
and its cost grows linearly with the input:

- over MAX_HTML_CHARS, the contents of big scripts, styles and comments go first (a
  4 MB inline script in <head> must not push the article out), then the tail is cut;
- a start tag with more than MAX_TAG_ATTRIBUTES attributes loses them (libxml2 checks
  every attribute against every other one: 100k attributes take minutes);
- libxml2 caps the nesting depth it builds (deeper markup is flattened), and nothing in
  the parser recurses over the tree in Python, so deep pages cannot exhaust the stack;
- a page of more than MAX_ELEMENTS start tags is read up to its MAX_ELEMENTS-th (the
  article comes first on real pages; 100k repeated boxes after it are noise), so every
  later pass over the tree is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from services.common.outcomes import Rejected

MAX_HTML_CHARS = 4_000_000
MAX_ELEMENTS = 20_000
MAX_TAG_ATTRIBUTES = 256
MAX_NODE_CHARS = 100_000
"""One text node longer than this is cut: the longest real article is a fraction of it, and every
text measure the body scorer takes of a container reads its nodes again."""
MAX_TEXT_CHARS = 1_000_000
"""The text of the whole document is cut here, in document order: the scorer's work grows with
(nesting depth × text), so bounding the text bounds the parse."""
# Script, style and comment blocks this long are dropped first when a page is over the limit.
BIG_BLOCK_CHARS = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Long start tags only: `[^<>]` cannot run past the next tag, so the scan is linear.
_LONG_START_TAG = re.compile(r"<([a-zA-Z][\w:-]*)([^<>]{%d,})>" % (MAX_TAG_ATTRIBUTES * 4))
_START_TAG = re.compile(r"<[a-zA-Z]")
_ATTRIBUTE = re.compile(r"[\s\"'][^\s=\"'<>/]+\s*=")

_PARSER = lxml.html.HTMLParser(
    remove_comments=True, remove_pis=True, huge_tree=False, recover=True, no_network=True, default_doctype=False
)
# Every element an HtmlElement (text_content() and the rest of lxml.html's API), chosen in C.
# lxml.html's own lookup calls back into Python for each element proxy to hand out form and
# input classes nothing here uses: about a tenth of the parse time, measured.
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
))


@dataclass
class Page:
    """A parsed page and how it was bounded on the way in."""

    root: lxml.html.HtmlElement
    html: str
    """The HTML that was parsed (after the cuts below): what a second opinion must read too."""
    notes: list[str] = field(default_factory=list)


def normalize_space(text: str | None) -> str:
    if not text:
        return ""
    # str.split() splits on exactly the characters the regex \s matches (no-break spaces
    # included) and is several times faster than re.sub on the parser's hot path.
    return " ".join(text.replace("\u200b", "").split())


def looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return controls / len(sample) > 0.05


def _drop_big_blocks(html: str, keep_jsonld: bool = True) -> str:
    """The page without the contents of big <script> (not JSON-LD), <style> and comment blocks.

    Scans with str.find: linear, whatever the page (an unclosed block runs to the end).
    """
    lower = html.lower()
    out: list[str] = []
    pos = 0
    while True:
        starts = [(i, kind) for kind, i in (("script", lower.find("<script", pos)), ("style", lower.find("<style", pos)),
                                             ("comment", lower.find("<!--", pos))) if i >= 0]
        if not starts:
            break
        start, kind = min(starts)
        if kind == "comment":
            content_start = start + 4
            end = lower.find("-->", content_start)
        else:
            tag_end = lower.find(">", start)
            if tag_end < 0:
                break
            content_start = tag_end + 1
            end = lower.find(f"</{kind}", content_start)
        end = len(html) if end < 0 else end
        keep = end - content_start <= BIG_BLOCK_CHARS or (keep_jsonld and "ld+json" in lower[start:content_start])
        out.append(html[pos:end] if keep else html[pos:content_start])
        pos = end if end > pos else pos + 1
    out.append(html[pos:])
    return "".join(out)


def _limit_attributes(html: str) -> str:
    def trim(match: re.Match[str]) -> str:
        if len(_ATTRIBUTE.findall(match.group(2))) <= MAX_TAG_ATTRIBUTES:
            return match.group(0)
        return f"<{match.group(1)}>"

    return _LONG_START_TAG.sub(trim, html)


def prepare_html(html: str) -> tuple[str, list[str]]:
    """The HTML bounded for parsing, and notes on what was cut."""
    notes = []
    if len(html) > MAX_HTML_CHARS:
        html = _drop_big_blocks(html)
        notes.append("big scripts, styles and comments dropped")
    if len(html) > MAX_HTML_CHARS:
        html = _drop_big_blocks(html, keep_jsonld=False)
        notes.append("big JSON-LD blocks dropped")
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
        notes.append(f"cut at {MAX_HTML_CHARS} characters")
    cut = _cut_after_start_tags(html, MAX_ELEMENTS)
    if cut is not None:
        html = cut
        notes.append(f"only the first {MAX_ELEMENTS} elements read")
    limited = _limit_attributes(html)
    if len(limited) != len(html):
        notes.append(f"start tags with more than {MAX_TAG_ATTRIBUTES} attributes emptied")
    # lxml refuses to hold control characters in text it is asked to modify later.
    html = _CONTROL.sub("", limited)
    # lxml refuses str input that carries an XML encoding declaration.
    if html.lstrip().startswith("<?xml"):
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)
    return html, notes


def _cut_after_start_tags(html: str, limit: int) -> str | None:
    """The HTML up to its `limit`-th start tag, or None when it has fewer (one linear scan)."""
    for count, match in enumerate(_START_TAG.finditer(html)):
        if count == limit:
            return html[: match.start()]
    return None


def load_html(html: str | None) -> Page | Rejected:
    if html is None or not html.strip():
        return Rejected("empty-page", "the page has no content")
    if looks_binary(html):
        return Rejected("binary-content", "the body is not text (control bytes or undecodable data)")
    html, notes = prepare_html(html)
    try:
        root = lxml.html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError) as exc:
        return Rejected("unparseable-html", f"HTML could not be parsed: {exc}")
    if root is None:
        return Rejected("unparseable-html", "HTML produced no document")
    _bound_text(root, notes)
    return Page(root, html, notes)


def _bound_text(root: lxml.html.HtmlElement, notes: list[str]) -> None:
    """Cut text nodes over MAX_NODE_CHARS and the document's text after MAX_TEXT_CHARS (one pass)."""
    budget = MAX_TEXT_CHARS
    cut_nodes = over_budget = False
    for el in root.iter():
        for attr in ("text", "tail"):
            value = getattr(el, attr, None)
            if not value or not isinstance(value, str):
                continue
            keep = min(len(value), MAX_NODE_CHARS, budget)
            if keep < len(value):
                cut_nodes |= keep == MAX_NODE_CHARS
                over_budget |= keep == budget
                try:
                    setattr(el, attr, value[:keep])
                except (TypeError, ValueError):  # comments and processing instructions keep theirs
                    continue
            budget -= keep
    if cut_nodes:
        notes.append(f"text nodes over {MAX_NODE_CHARS} characters cut")
    if over_budget:
        notes.append(f"text after the first {MAX_TEXT_CHARS} characters dropped")


def text_of(el: etree._Element | None) -> str:
    if el is None:
        return ""
    try:
        return normalize_space(el.text_content())
    except (ValueError, AttributeError):
        return normalize_space("".join(el.itertext()))


def tag_of(el: object) -> str:
    tag = getattr(el, "tag", None)
    return tag.lower() if isinstance(tag, str) else ""


def link_density(el: etree._Element, text_len: int | None = None) -> float:
    total = text_len if text_len is not None else len(text_of(el))
    if total == 0:
        return 0.0
    linked = sum(len(normalize_space(a.text_content())) for a in el.iter("a"))
    return min(1.0, linked / total)


def css(root: etree._Element, selector: str) -> list[etree._Element]:
    """CSS selector (or XPath when it starts with / or ./); invalid selectors select nothing."""
    try:
        if selector.startswith(("/", "./", "(")):
            result = root.xpath(selector)
            return [r for r in result if isinstance(r, etree._Element)]
        from lxml.cssselect import CSSSelector

        return CSSSelector(selector)(root)
    except Exception:  # noqa: BLE001 - a bad rule in the sources file must not crash parsing
        return []

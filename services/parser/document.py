"""Loading HTML safely, and small helpers over lxml trees.

Pages on the web are broken in every way: empty, binary, gigantic, 100k levels
deep. `load_html` returns a tree or a `Rejected`, never raises. libxml2 caps the
nesting depth it builds (deeper markup is flattened), and nothing in the parser
recurses over the tree in Python, so deep pages cannot exhaust the stack.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from services.common.outcomes import Rejected

MAX_HTML_CHARS = 4_000_000
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

_PARSER = lxml.html.HTMLParser(
    remove_comments=True, remove_pis=True, huge_tree=False, recover=True, no_network=True, default_doctype=False
)


def normalize_space(text: str | None) -> str:
    if not text:
        return ""
    return _WS.sub(" ", text.replace("\xa0", " ").replace("\u200b", "")).strip()


def looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return controls / len(sample) > 0.05


def load_html(html: str | None) -> lxml.html.HtmlElement | Rejected:
    if html is None or not html.strip():
        return Rejected("empty-page", "the page has no content")
    if looks_binary(html):
        return Rejected("binary-content", "the body is not text (control bytes or undecodable data)")
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
    # lxml refuses to hold control characters in text it is asked to modify later.
    html = _CONTROL.sub("", html)
    # lxml refuses str input that carries an XML encoding declaration.
    if html.lstrip().startswith("<?xml"):
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)
    try:
        root = lxml.html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError) as exc:
        return Rejected("unparseable-html", f"HTML could not be parsed: {exc}")
    if root is None:
        return Rejected("unparseable-html", "HTML produced no document")
    return root


def text_of(el: etree._Element | None) -> str:
    if el is None:
        return ""
    try:
        return normalize_space(el.text_content())
    except (ValueError, AttributeError):
        return normalize_space("".join(el.itertext()))


def class_id(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}".lower()


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

"""Bounds applied to a page's tree before any rule reads it (services/parser/document.py)."""

from __future__ import annotations

from services.parser.document import MAX_NODE_CHARS, MAX_TEXT_CHARS, Page, load_html
from services.parser.visible import MAX_IMAGE_BOXES, read_visible


def loaded(html: str) -> Page:
    page = load_html(html)
    assert isinstance(page, Page)
    return page


def test_a_giant_text_node_is_cut_and_the_cut_is_noted() -> None:
    page = loaded("<html><body><p>начало</p><div>" + "текст " * 100_000 + "</div></body></html>")
    (div,) = page.root.iter("div")
    assert len(div.text) == MAX_NODE_CHARS
    assert f"text nodes over {MAX_NODE_CHARS} characters cut" in page.notes
    assert page.root.find(".//p").text == "начало"


def test_text_after_the_document_budget_is_dropped_in_document_order() -> None:
    nodes = MAX_TEXT_CHARS // 50_000 + 5
    page = loaded("<html><body>" + "".join(f"<p>{str(i) * 50_000}</p>" for i in range(nodes)) + "</body></html>")
    lengths = [len(p.text or "") for p in page.root.iter("p")]
    assert sum(lengths) == MAX_TEXT_CHARS
    assert lengths[0] == 50_000 and lengths[-1] == 0
    assert f"text after the first {MAX_TEXT_CHARS} characters dropped" in page.notes


def test_an_ordinary_page_is_not_touched() -> None:
    page = loaded("<html><body><p>Один абзац.</p> хвост</body></html>")
    assert page.notes == []
    assert page.root.find(".//p").tail == " хвост"


def test_only_the_first_image_boxes_are_read() -> None:
    figures = "".join(f'<figure><img src="/{i}.jpg"><figcaption>Подпись {i}</figcaption></figure>' for i in range(MAX_IMAGE_BOXES + 50))
    meta = read_visible(loaded(f"<html><body>{figures}</body></html>").root)
    assert len(meta.images) == MAX_IMAGE_BOXES
    assert meta.images[-1].url == f"/{MAX_IMAGE_BOXES - 1}.jpg"

from services.scraper.charset import decode_body, detect_encoding

RU = "Владимир Путин и Ильхам Алиев провели переговоры в Душанбе. " * 20


def test_bom_wins_over_everything() -> None:
    assert detect_encoding(b"\xef\xbb\xbf<html>", "text/html; charset=windows-1251") == ("utf-8", "bom")


def test_http_header_charset() -> None:
    assert detect_encoding(RU.encode("cp1251"), "text/html; charset=windows-1251") == ("cp1251", "http-header")


def test_meta_charset_and_http_equiv() -> None:
    page = f'<html><head><meta charset="windows-1251"></head><body>{RU}</body></html>'.encode("cp1251")
    assert detect_encoding(page, "text/html") == ("cp1251", "meta")
    page = f'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>{RU}</p>'.encode("koi8_r")
    assert detect_encoding(page, None) == ("koi8-r", "meta")


def test_undeclared_cyrillic_is_detected() -> None:
    text, encoding, source = decode_body(f"<p>{RU}</p>".encode("cp1251"), "text/html")
    assert source == "detected" and "Душанбе" in text
    text, encoding, source = decode_body(f"<p>{RU}</p>".encode("koi8_r"), None)
    assert "Душанбе" in text


def test_a_wrong_declaration_falls_through_to_detection() -> None:
    text, encoding, source = decode_body(f"<p>{RU}</p>".encode("cp1251"), "text/html; charset=utf-8")
    assert "Душанбе" in text


import pytest

from services.scraper.charset import TEXT_ENCODINGS, normalise_label


@pytest.mark.parametrize("label", ["unicode_escape", "raw_unicode_escape", "rot13", "rot_13", "base64", "zip", "zlib", "bz2",
                                   "hex", "uu", "quopri", "punycode", "idna", "utf-7", "undefined", "unicode-internal", "mbcs", "palmos"])
def test_codecs_that_are_not_text_encodings_are_never_a_page_charset(label: str) -> None:
    assert normalise_label(label) is None
    page = b'<html><head><meta charset="' + label.encode() + b'"><title>\\u0041</title></head><body>' + RU.encode("utf-8") + b"</body></html>"
    encoding, source = detect_encoding(page, f"text/html; charset={label}")
    assert encoding in TEXT_ENCODINGS and source not in ("http-header", "meta")
    text, _, _ = decode_body(page, f"text/html; charset={label}")
    assert "\\u0041" in text and "Душанбе" in text, "the page is read as text, not decoded as escapes"


@pytest.mark.parametrize("label", ["windows-1251", "koi8-r", "KOI8-U", "iso-8859-5", "x-mac-cyrillic", "ibm866", "utf-16le", "shift_jis", "gb18030", "latin1"])
def test_real_text_encodings_are_accepted(label: str) -> None:
    assert normalise_label(label) in TEXT_ENCODINGS

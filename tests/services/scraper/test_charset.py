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

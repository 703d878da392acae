"""`newsflow parse` on files: single pages and --batch, with charsets, BOMs and gzip."""

from __future__ import annotations

import gzip
import json

from services.cli import main
from services.samplesite.server import SITE_DIR

SEED = (SITE_DIR / "pages/vestnik/putin-aliev-dushanbe.html").read_text(encoding="utf-8")
GOROD = SITE_DIR / "pages/gorod/yaroslavl-heating-season.html"


def test_parse_prints_every_field_with_its_provenance(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "seed.html"
    page.write_text(SEED, encoding="utf-8")
    assert main(["parse", str(page), "--url", "https://vestnik.example/p/1/", "--timezone", "Europe/Moscow"]) == 0
    article = json.loads(capsys.readouterr().out)
    assert article["title"].startswith("„Кризис эмоций“")
    assert article["published_at"] == "2025-10-10T14:35:00+03:00"
    assert {"title", "body", "published_at", "authors"} <= set(article["provenance"])
    assert all({"source", "confidence"} <= set(p) for p in article["provenance"].values())


def test_batch_reads_charsets_boms_and_gzip_and_reports_rejections(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a-cp1251.html").write_bytes(GOROD.read_bytes())
    (tmp_path / "b-bom.html").write_bytes(b"\xef\xbb\xbf" + SEED.replace('<meta charset="utf-8">', "").encode("utf-8"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.html.gz").write_bytes(gzip.compress(SEED.encode("utf-8")))
    (tmp_path / "d-empty.html").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a page")
    assert main(["parse", "--batch", str(tmp_path), "--timezone", "Europe/Moscow"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_file = {line["file"]: line for line in lines}
    assert set(by_file) == {"a-cp1251.html", "b-bom.html", "sub/c.html.gz", "d-empty.html"}
    assert "Ярославл" in by_file["a-cp1251.html"]["article"]["body"]
    assert by_file["b-bom.html"]["article"]["title"] == by_file["sub/c.html.gz"]["article"]["title"]
    assert by_file["d-empty.html"]["rejected"].startswith("empty-page")


def test_a_missing_file_is_a_clear_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["parse", str(tmp_path / "nope.html")]) == 2
    assert "no such file" in capsys.readouterr().err

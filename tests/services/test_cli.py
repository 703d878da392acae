"""`newsflow parse` on files, URLs and archives: single pages and --batch; hostile input, time limits, order."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import zlib

import brotli

from services.cli import main
from devtools.samplesite.server import SITE_DIR

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


# --------------------------------------------------------------------------- hostile input, time limit, order


def gzip_bomb(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(packer.compress(b"\0" * (1 << 20)) for _ in range(megabytes)) + packer.flush()


def test_hostile_files_get_one_line_each_and_the_batch_goes_on(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    packed = gzip.compress(SEED.encode("utf-8"))
    (tmp_path / "1-truncated.html.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "2-trailing.html.gz").write_bytes(packed + b"<!-- appended by a broken proxy -->")
    (tmp_path / "3-bomb.html.gz").write_bytes(gzip_bomb(1200))  # 1.2 GB of zeros, about 1.2 MB on disk
    (tmp_path / "4-huge.html").write_bytes(b"<html><body>" + b"<p>word</p>" * 600_000 + b"</body></html>")
    (tmp_path / "5-good.html").write_text(SEED, encoding="utf-8")
    assert main(["parse", "--batch", str(tmp_path), "--jobs", "2", "--timezone", "Europe/Moscow"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["file"] for line in lines] == ["1-truncated.html.gz", "2-trailing.html.gz", "3-bomb.html.gz", "4-huge.html", "5-good.html"]
    assert lines[0]["rejected"].startswith("truncated-stream: ")
    assert lines[1]["rejected"].startswith("trailing-garbage: ")
    assert lines[2]["rejected"].startswith("decompression-bomb: ")
    assert lines[3]["rejected"].startswith("too-large: ")
    assert lines[4]["article"]["title"].startswith("„Кризис эмоций“")
    errors = captured.err.splitlines()
    assert "Traceback" not in captured.err
    for name, reason in (("1-truncated.html.gz", "truncated-stream"), ("2-trailing.html.gz", "trailing-garbage"),
                         ("3-bomb.html.gz", "decompression-bomb"), ("4-huge.html", "too-large")):
        assert sum(line.startswith(f"newsflow parse: {name}: {reason}: ") for line in errors) == 1, (name, errors)
    assert errors[-1].startswith("newsflow parse: 5 pages in ")
    assert "1 articles, 4 rejected" in errors[-1]


def test_a_single_refused_file_is_one_line_on_stderr_and_exit_1(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bomb.gz").write_bytes(gzip_bomb(64))
    assert main(["parse", str(tmp_path / "bomb.gz")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [captured.err.strip()]
    assert captured.err.startswith(f"newsflow parse: {tmp_path / 'bomb.gz'}: decompression-bomb: ")


def test_pages_over_the_time_limit_are_timeouts_and_every_page_is_still_reported_in_order(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        (tmp_path / f"page-{i}.html").write_text(SEED, encoding="utf-8")
    # A millisecond is far below what parsing any article takes (the second opinion alone needs more),
    # so every page is over the limit however fast or idle the machine is.
    assert main(["parse", "--batch", str(tmp_path), "--jobs", "2", "--time-limit", "0.001"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["file"] for line in lines] == [f"page-{i}.html" for i in range(6)]
    assert all(line["rejected"].startswith("timeout: ") for line in lines)
    assert "6 rejected (timeout 6)" in captured.err


def test_output_order_is_the_input_order_whatever_finishes_first(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Long and short pages interleaved: with two workers the short ones finish first.
    long_page = SEED.replace("</body>", "<p>" + "Долгий абзац. " * 20000 + "</p></body>")
    names = []
    for i in range(10):
        name = f"{i:02d}.html"
        (tmp_path / name).write_text(long_page if i % 2 == 0 else SEED, encoding="utf-8")
        names.append(name)
    assert main(["parse", "--batch", str(tmp_path), "--jobs", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == names
    assert all("article" in line for line in lines)


def test_batch_reads_warc_archives_and_single_files_next_to_folders(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.warc_builder import Resource, Response, write_warc

    archive = tmp_path / "crawl.warc.gz"
    offsets = write_warc(archive, [
        Resource("https://vestnik.example/p/1/", b"GET /p/1/ HTTP/1.1\r\n\r\n", kind="request"),
        Response("https://vestnik.example/p/1/", SEED.encode("utf-8")),
        Response("https://vestnik.example/logo.png", b"\x89PNG", headers=[("Content-Type", "image/png")]),
        Response("https://vestnik.example/p/2/", b"", warc_headers={"WARC-Truncated": "length"}),
    ])
    single = tmp_path / "single.html"
    single.write_text(SEED, encoding="utf-8")
    assert main(["parse", "--batch", str(archive), str(single), "--timezone", "Europe/Moscow"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [(line["file"], line.get("record")) for line in lines] == [
        (str(archive), offsets[1]), (str(archive), offsets[3]), (str(single), None)]
    assert lines[0]["url"] == "https://vestnik.example/p/1/"
    assert lines[0]["article"]["url"] == "https://vestnik.example/p/1/"
    assert lines[1]["rejected"].startswith("warc-truncated: ")
    assert lines[2]["article"]["title"] == lines[0]["article"]["title"]
    assert "2 archive records skipped (request 1, not-html 1)" in captured.err


def test_progress_is_drawn_only_when_asked_for_on_a_pipe(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text(SEED, encoding="utf-8")
    assert main(["parse", "--batch", str(tmp_path)]) == 0
    assert "\r" not in capsys.readouterr().err
    assert main(["parse", "--batch", str(tmp_path), "--progress"]) == 0
    assert "\r1/1 pages" in capsys.readouterr().err


def test_urls_other_than_http_are_refused_before_any_request(capsys) -> None:  # type: ignore[no-untyped-def]
    for url in ("ftp://example.com/page.html", "file:///etc/passwd", "gopher://x/"):
        assert main(["parse", url]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"newsflow parse: {url}: unsupported-url: ") and err.count("\n") == 1


def test_a_url_answering_with_a_brotli_bomb_is_refused_in_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    bomb = brotli.compress(b"\0" * (256 << 20), quality=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "br")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            self.wfile.write(bomb)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/bomb.html"
        assert main(["parse", url]) == 1
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert err.startswith(f"newsflow parse: {url}: decompression-bomb: ") and err.count("\n") == 1


def _subcommand_helps(parser) -> dict[str, str]:  # type: ignore[no-untyped-def]
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return {choice.dest: choice.help for choice in actions[0]._choices_actions}


def test_a_command_loads_only_its_own_options_and_the_help_lists_every_command_the_same() -> None:
    # `newsflow parse` over one page must not import the dev stack, the status poller or the access
    # model (≈ 0.8 s of CPU at each start); `newsflow --help` must still list every command.
    import subprocess
    import sys

    probe = ("import sys; from services.cli import build_parser; build_parser('parse').parse_args(['parse', 'x']); "
             "print(sorted(m for m in ('devtools.devstack.__main__', 'services.ops.status', 'services.ops.provision', "
             "'services.ops.access') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"

    from services.cli import build_parser

    full, lazy = build_parser(), build_parser("parse")
    assert _subcommand_helps(lazy) == _subcommand_helps(full)
    assert {"stack", "status", "access", "parse"} <= set(_subcommand_helps(full))
    # The command that runs gets all its options.
    args = build_parser("status").parse_args(["status", "--json", "--stage", "parser"])
    assert args.json is True and args.stage == ["parser"]
    args = build_parser("access").parse_args(["access", "show", "--namespace", "prod"])
    assert args.action == "show" and args.namespace == "prod"

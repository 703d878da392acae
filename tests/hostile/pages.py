"""A corpus of hostile pages, generated (not checked in): what the open web can throw at a stage.

    python -m tests.hostile.pages OUTDIR      write every page to OUTDIR (+ manifest.json)

Each `HostilePage` is the bytes a server would send (`body`, already compressed when
`content_encoding` is set), the headers it would send them with, and what the pipeline
may do with it: `expect` is "article" (a real article hides in the hostility and must
come out), "rejected" (it must be refused) or "either". Whatever the page, it must end
as an article or a dead letter within the stage's time limit and its memory bound —
never as a traceback, a stall or a crash. Pages are built lazily (some are tens of MB).
"""

from __future__ import annotations

import brotli
import gzip
import json
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ARTICLE_TITLE = "В Твери после ремонта открылась областная детская библиотека"
PARAGRAPHS = [
    "Тверская областная библиотека для детей и юношества вновь открылась для читателей после капитального "
    "ремонта, который продолжался почти два года. Торжественная церемония прошла во вторник.",
    "Работы в здании на улице Советской начались в декабре 2023 года. Подрядчик заменил кровлю, инженерные "
    "сети и окна, укрепил перекрытия и обустроил пандус у главного входа.",
    "«Мы хотели, чтобы библиотека перестала быть местом, куда приходят только за книгой по школьной "
    "программе», — рассказала директор библиотеки Наталья Воронина.",
    "По её словам, фонд учреждения за время ремонта пополнился почти на девять тысяч изданий. Около трети "
    "из них — современная подростковая проза и научно-популярная литература.",
]


def article_html(*, head_extra: str = "", before: str = "", after: str = "", title: str = ARTICLE_TITLE,
                 byline: str = "Елена Крылова", date: str = "2025-10-21T11:20:00+03:00", charset: str = "utf-8") -> str:
    """A plain, well-formed news article with room for hostility around it."""
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="{charset}"><title>{title}</title>'
        f'<meta property="og:type" content="article">{head_extra}</head><body>{before}'
        f'<article><h1>{title}</h1><div class="byline">{byline}</div>'
        f'<time datetime="{date}">21 октября 2025, 11:20</time><div class="article-body">{body}</div></article>'
        f"{after}</body></html>"
    )


@dataclass
class HostilePage:
    name: str
    what: str
    build: Callable[[], bytes]
    content_type: str = "text/html; charset=utf-8"
    content_encoding: str | None = None
    expect: str = "either"  # "article" | "rejected" | "either"
    _body: bytes | None = field(default=None, repr=False)

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = self.build()
        return self._body

    @property
    def filename(self) -> str:
        suffix = {None: ".html", "gzip": ".html.gz", "deflate": ".html.deflate", "br": ".html.br"}[self.content_encoding]
        return self.name + suffix


def _u(text: str) -> bytes:
    return text.encode("utf-8")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def _zeros_gzip(megabytes: int) -> bytes:
    z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(megabytes)) + z.flush()


def _zeros_deflate(megabytes: int, raw: bool) -> bytes:
    z = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    chunk = b"<p>" * (1 << 18)
    return b"".join(z.compress(chunk) for _ in range(megabytes * 4 // 3)) + z.flush()


def _brotli_bomb() -> bytes:
    c = brotli.Compressor(quality=5)
    out = b"".join(c.process(b"\0" * (1 << 20)) for _ in range(1024))  # 1 GiB of zeros
    return out + c.finish()


def _many(element: str, count: int, **kw: str) -> bytes:
    return _u(article_html(after=element * count, **kw))


PAGES: list[HostilePage] = [
    # ------------------------------------------------------------------ size and structure
    HostilePage("huge-60mb", "60 MB of paragraphs after a real article", lambda: _u(article_html(after="<p>слово " * 6_000_000)), expect="either"),
    HostilePage("huge-head-article-after", "a 4.5 MB <head> (inline script) before a real article",
                lambda: _u(article_html(head_extra="<script>var x='" + "a" * 4_500_000 + "';</script>")), expect="article"),
    HostilePage("deep-nesting-div-100k", "100k nested <div>", lambda: _u(article_html(before="<div>" * 100_000))),
    HostilePage("deep-nesting-inline-100k", "100k nested <b> around the article", lambda: _u("<b>" * 100_000 + article_html())),
    HostilePage("deep-nesting-table-20k", "20k nested tables", lambda: _u(article_html(after="<table><tr><td>" * 20_000))),
    HostilePage("many-paragraphs-100k", "100k short paragraphs", lambda: _many("<p>Да.</p>", 100_000)),
    HostilePage("many-images-with-credits-50k", "50k figures with captions and credits",
                lambda: _u(article_html(after="".join(f'<figure><img src="/i/{i}.jpg" alt="Фото {i}"><figcaption>Читальный зал {i}. Фото: Михаил Зуев</figcaption></figure>' for i in range(50_000))))),
    HostilePage("many-images-same-src-50k", "50k images with the same src and credit lines under them",
                lambda: _many('<img src="/a.jpg"><span>Фото: РИА Новости</span>', 50_000)),
    HostilePage("many-times-100k", "100k <time> elements", lambda: _many('<time datetime="2025-10-21T11:20:00+03:00">21.10.2025</time>', 100_000)),
    HostilePage("many-links-100k", "100k links", lambda: _u(article_html(after="".join(f'<a href="/n/{i}">Новость {i}</a>' for i in range(100_000))))),
    HostilePage("many-attributes-100k", "one element with 100k attributes",
                lambda: _u(article_html(before="<div " + " ".join(f"data-a{i}='{i}'" for i in range(100_000)) + "></div>"))),
    HostilePage("many-distinct-tags-50k", "50k distinct unknown tag names", lambda: _u(article_html(after="".join(f"<x{i}>t</x{i}>" for i in range(50_000))))),
    HostilePage("many-meta-tags-50k", "50k meta tags", lambda: _u(article_html(head_extra='<meta name="description" content="описание">' * 50_000))),
    HostilePage("many-scripts-20k", "20k script elements", lambda: _many("<script>var a=1;</script>", 20_000)),
    HostilePage("many-link-tags-256k", "256 KiB of repeated '<link '", lambda: _u(article_html(head_extra="<link " * 50_000)), expect="either"),
    HostilePage("one-word-4mb", "a single 4 MB word", lambda: _u(article_html(after="<p>" + "а" * 4_000_000 + "</p>"))),
    HostilePage("one-text-node-4m-chars", "one 4M-character text node with spaces", lambda: _u(article_html(after="<div>" + "текст " * 700_000 + "</div>"))),
    HostilePage("title-1mb", "a 1 MB title", lambda: _u(article_html(title="Заголовок " * 100_000)), expect="either"),
    # ------------------------------------------------------------------ compression
    HostilePage("gzip-bomb", "100 MB of zeros in 100 KB of gzip", lambda: _zeros_gzip(100), content_encoding="gzip", expect="rejected"),
    HostilePage("brotli-bomb", "1 GiB of zeros in ~1 KB of brotli", _brotli_bomb, content_encoding="br", expect="rejected"),
    HostilePage("deflate-bomb", "zlib-wrapped deflate bomb", lambda: _zeros_deflate(100, raw=False), content_encoding="deflate", expect="rejected"),
    HostilePage("raw-deflate-bomb", "raw deflate (no zlib header) bomb", lambda: _zeros_deflate(100, raw=True), content_encoding="deflate", expect="rejected"),
    HostilePage("gzip-truncated", "a gzip stream cut in the middle", lambda: _gzip(_u(article_html()))[:400], content_encoding="gzip", expect="rejected"),
    HostilePage("gzip-trailing-garbage", "a gzip stream followed by garbage", lambda: _gzip(_u(article_html())) + b"\x00garbage" * 100, content_encoding="gzip", expect="either"),
    HostilePage("gzip-not-gzip", "Content-Encoding: gzip on a plain page", lambda: _u(article_html()), content_encoding="gzip", expect="rejected"),
    HostilePage("brotli-broken", "a brotli stream with flipped bytes", lambda: bytes(b ^ 0x5A for b in brotli.compress(_u(article_html()))), content_encoding="br", expect="rejected"),
    HostilePage("gzip-inside-gzip", "a gzipped gzip (double encoding)", lambda: _gzip(_gzip(_u(article_html()))), content_encoding="gzip", expect="either"),
    # ------------------------------------------------------------------ charsets and bytes
    HostilePage("charset-lies-utf8-is-cp1251", "header says utf-8, the bytes are windows-1251", lambda: article_html().encode("cp1251", "replace"), expect="article"),
    HostilePage("charset-unknown-name", "charset=x-no-such-charset", lambda: _u(article_html(charset="x-no-such-charset")), content_type="text/html; charset=x-no-such-charset", expect="article"),
    HostilePage("charset-unicode-escape", "charset=unicode_escape (a Python codec, not a text encoding)",
                lambda: _u(article_html(charset="unicode_escape", after="<p>\\u202e\\x00\\U0001F600</p>")), content_type="text/html; charset=unicode_escape", expect="article"),
    HostilePage("charset-rot13", "charset=rot13", lambda: _u(article_html(charset="rot13")), content_type="text/html; charset=rot13", expect="article"),
    HostilePage("charset-base64-codec", "charset=base64", lambda: _u(article_html()), content_type="text/html; charset=base64", expect="article"),
    HostilePage("charset-zlib-codec", "meta charset=zlib_codec", lambda: _u(article_html(charset="zlib_codec")), content_type="text/html", expect="article"),
    HostilePage("utf16-without-bom", "UTF-16-LE without a BOM, undeclared", lambda: article_html().encode("utf-16-le"), content_type="text/html", expect="either"),
    HostilePage("utf16-bom-declared-cp1251", "UTF-16 with BOM while the header says windows-1251", lambda: article_html().encode("utf-16"), content_type="text/html; charset=windows-1251", expect="article"),
    HostilePage("nul-bytes", "NUL bytes between every character", lambda: b"\0".join(bytes([b]) for b in _u(article_html())), expect="either"),
    HostilePage("invalid-utf8", "invalid UTF-8 sequences everywhere", lambda: _u(article_html()).replace(b" ", b" \xff\xfe\xc3 "), expect="either"),
    HostilePage("binary-png-as-html", "a PNG served as text/html", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4000, expect="rejected"),
    HostilePage("random-binary", "random bytes served as text/html", lambda: __import__("os").urandom(1 << 20), expect="rejected"),
    # ------------------------------------------------------------------ empty
    HostilePage("empty", "an empty 200 response", lambda: b"", expect="rejected"),
    HostilePage("whitespace-only", "a megabyte of whitespace", lambda: b" \n\t" * 350_000, expect="rejected"),
    HostilePage("doctype-only", "only a doctype", lambda: b"<!DOCTYPE html>", expect="rejected"),
    # ------------------------------------------------------------------ regex bait in field extractors
    HostilePage("date-bait-digits", "a million digits where a date is looked for",
                lambda: _u(article_html(after='<div class="date">' + "1" * 1_000_000 + "</div>")), expect="article"),
    HostilePage("date-bait-separators", "dates without end: '10.10.10.10…' and '2025-2025-…'",
                lambda: _u(article_html(after='<span class="published">' + "10." * 200_000 + "</span><time>" + "2025-" * 200_000 + "</time>")), expect="article"),
    HostilePage("byline-bait", "a byline of 500k letters and 'By ' repeated",
                lambda: _u(article_html(byline="Автор: " + "А" * 500_000, after='<div class="author">' + "By " * 100_000 + "</div>")), expect="either"),
    HostilePage("caption-bait", "'Фото: ' repeated 100k times in a caption",
                lambda: _u(article_html(after="<figure><img src='/x.jpg'><figcaption>" + "Фото: " * 100_000 + "</figcaption></figure>")), expect="article"),
    HostilePage("jsonld-unclosed-comments", "400 KB of JSON-LD full of unclosed '/*'",
                lambda: _u(article_html(head_extra='<script type="application/ld+json">{"@type": "NewsArticle", ' + "/* " * 130_000 + "}</script>")), expect="article"),
    HostilePage("jsonld-blank-lines", "200k blank lines inside JSON-LD",
                lambda: _u(article_html(head_extra='<script type="application/ld+json">{"@type": "NewsArticle",' + "\n" * 200_000 + '"headline": "x" // c\n}</script>')), expect="article"),
    HostilePage("jsonld-commas", "a million commas and spaces in JSON-LD",
                lambda: _u(article_html(head_extra='<script type="application/ld+json">{"a": [' + ",  " * 1_000_000 + "}</script>")), expect="article"),
    HostilePage("jsonld-giant-valid", "a valid 3 MB JSON-LD block (escaped Cyrillic)",
                lambda: _u(article_html(head_extra='<script type="application/ld+json">' + json.dumps({"@type": "NewsArticle", "headline": ARTICLE_TITLE, "articleBody": "слово " * 80_000}) + "</script>")), expect="article"),
    HostilePage("jsonld-over-deep", "JSON-LD nested 100k levels deep, beside a normal block",
                lambda: _u(article_html(head_extra='<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + '</script><script type="application/ld+json">{"@type": "NewsArticle", "headline": "' + ARTICLE_TITLE + '", "datePublished": "2025-10-21T11:20:00+03:00"}</script>')), expect="article"),
    HostilePage("jsonld-many-blocks-10k", "10k JSON-LD blocks", lambda: _u(article_html(head_extra='<script type="application/ld+json">{"@type": "Thing"}</script>' * 10_000)), expect="article"),
    HostilePage("jsonld-bad-dates", "year 9999, year 0001 and a +99:99 offset in JSON-LD",
                lambda: _u(article_html(date="9999-12-31T23:59:59+03:00", head_extra='<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "0001-01-01T00:00:00+99:99", "dateModified": "9999-01-01"}</script>')), expect="article"),
    HostilePage("unclosed-script", "a <script> that never closes, before the article", lambda: _u("<script>var a = '" + article_html()), expect="either"),
    HostilePage("unclosed-comment", "a comment that never closes", lambda: _u("<!-- " + article_html() * 3), expect="either"),
    HostilePage("unclosed-style", "a <style> that never closes", lambda: _u("<style>p{} " + article_html()), expect="either"),
    HostilePage("bidi-controls", "U+202E and other bidi/format controls in the title, byline and body",
                lambda: _u(article_html(title="\u202eакилбупеР\u202c " + ARTICLE_TITLE + "\u2066\u200f", byline="\u202eЕлена\u200b Крылова\u2069")), expect="article"),
    HostilePage("control-characters", "C0/C1 control characters throughout",
                lambda: _u(article_html().replace("а", "а\x07\x1b\x85")), expect="either"),
    HostilePage("javascript-base-and-links", "a javascript: base URL and data: images", lambda: _u(article_html(head_extra='<base href="javascript:alert(1)//">', after='<img src="data:image/png;base64,' + "A" * 1_000_000 + '">')), expect="article"),
]


def by_name(name: str) -> HostilePage:
    return next(p for p in PAGES if p.name == name)


def write(outdir: Path) -> list[dict[str, str | None]]:
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for page in PAGES:
        (outdir / page.filename).write_bytes(page.body)
        manifest.append({"name": page.name, "file": page.filename, "what": page.what, "content_type": page.content_type,
                         "content_encoding": page.content_encoding, "expect": page.expect})
    (outdir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.hostile.pages OUTDIR")
    print(f"{len(write(Path(sys.argv[1])))} pages written to {sys.argv[1]}")

"""Bounded decompression: every decoder call is capped, every broken or hostile stream refused by name."""

from __future__ import annotations

import gzip
import random
import zlib

import brotli
import pytest

from services.common.bounded import BoundedDecoder, DecodeRefused, PageLimits, decode, encoding_of_file, read_file

PAGE = b"<html><body>" + b"<p>Slow news day in Yaroslavl.</p>" * 3000 + b"</body></html>"
SMALL = PageLimits(max_bytes=256 * 1024, bomb_floor=64 * 1024, chunk=8 * 1024)


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MiB of zeros, gzipped (about a thousandth of that on disk), made without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(PAGE)),
    ("x-gzip", gzip.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)),
    ("deflate", raw_deflate(PAGE)),
    ("br", brotli.compress(PAGE)),
    ("identity", PAGE),
    (None, PAGE),
])
def test_each_encoding_decodes_to_the_page(encoding, body) -> None:  # type: ignore[no-untyped-def]
    assert decode(body, encoding) == PAGE


def test_gzip_members_back_to_back_and_zero_padding_are_one_page() -> None:
    assert decode(gzip.compress(PAGE) + gzip.compress(b"tail"), "gzip") == PAGE + b"tail"
    assert decode(gzip.compress(PAGE) + b"\0" * 16, "gzip") == PAGE


@pytest.mark.parametrize("encoding, body, reason", [
    ("gzip", gzip.compress(PAGE)[:-9], "truncated-stream"),
    ("gzip", gzip.compress(PAGE)[:5], "truncated-stream"),
    ("gzip", b"", "truncated-stream"),
    ("gzip", gzip.compress(PAGE) + b"<script>garbage</script>", "trailing-garbage"),
    ("gzip", gzip.compress(PAGE) + b"\x1f", "trailing-garbage"),
    ("gzip", b"this is not gzip at all", "corrupt-stream"),
    ("deflate", zlib.compress(PAGE)[:-20], "truncated-stream"),
    ("deflate", zlib.compress(PAGE) + b"junk", "trailing-garbage"),
    ("br", brotli.compress(PAGE)[:-4], "truncated-stream"),
    ("br", b"\xff" * 64, "corrupt-stream"),
    ("zstd", b"whatever", "unsupported-encoding"),
])
def test_a_broken_stream_is_refused_with_its_reason(encoding, body, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DecodeRefused) as refused:
        decode(body, encoding)
    assert refused.value.reason == reason
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("encoding, bomb", [
    ("gzip", gzip_bomb(64)),
    ("deflate", zlib.compress(b"\0" * (64 << 20), 9)),
    ("br", brotli.compress(b"\0" * (64 << 20), quality=1)),
])
def test_a_bomb_is_refused_after_a_megabyte_with_output_capped_per_call(encoding, bomb) -> None:  # type: ignore[no-untyped-def]
    limits = PageLimits()
    decoder = BoundedDecoder(encoding, limits)
    with pytest.raises(DecodeRefused) as refused:
        for start in range(0, len(bomb), limits.chunk):
            decoder.feed(bomb[start:start + limits.chunk])
    assert refused.value.reason == "decompression-bomb"
    # Refused once past the floor and 100x what was consumed: about a megabyte, not 64.
    assert decoder.size <= max(limits.bomb_floor, limits.max_ratio * decoder.consumed) + limits.chunk
    assert decoder.size < 2 * 1024 * 1024


def test_output_grows_at_most_one_chunk_per_decompressor_call() -> None:
    body = gzip.compress(b"a" * (200 * 1024))  # ratio ~ 1000: one input chunk holds all of it
    decoder = BoundedDecoder("gzip", PageLimits(max_bytes=1 << 20, max_ratio=10_000, chunk=4096))
    sizes = []
    original = decoder._append

    def spy(data: bytes) -> None:
        sizes.append(len(data))
        original(data)

    decoder._append = spy  # type: ignore[method-assign]
    decoder.feed(body)
    assert decoder.finish() == b"a" * (200 * 1024)
    assert max(sizes) <= 4096 and len(sizes) >= 50


@pytest.mark.parametrize("encoding", ["identity", "gzip", "br"])
def test_a_page_over_the_size_limit_is_refused_without_holding_more_than_limit_plus_a_chunk(encoding) -> None:  # type: ignore[no-untyped-def]
    big = random.Random(7).randbytes(1 << 20)  # 1 MiB that does not compress
    body = {"identity": big, "gzip": gzip.compress(big), "br": brotli.compress(big)}[encoding]
    decoder = BoundedDecoder(encoding, SMALL)
    with pytest.raises(DecodeRefused) as refused:
        for start in range(0, len(body), SMALL.chunk):
            decoder.feed(body[start:start + SMALL.chunk])
        decoder.finish()
    assert refused.value.reason == "too-large"
    assert decoder.size <= SMALL.max_bytes + SMALL.chunk


def test_a_file_says_its_encoding_by_name_or_magic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert encoding_of_file("a.html.br", b"") == "br"
    assert encoding_of_file("a.html.zz", b"") == "deflate"
    assert encoding_of_file("page", b"\x1f\x8b") == "gzip"
    assert encoding_of_file("page.html", b"<h") == "identity"
    (tmp_path / "p.html.br").write_bytes(brotli.compress(PAGE))
    (tmp_path / "p.bin").write_bytes(gzip.compress(PAGE))
    assert read_file(tmp_path / "p.html.br") == PAGE
    assert read_file(tmp_path / "p.bin") == PAGE


def test_a_stream_split_at_every_byte_decodes_the_same() -> None:
    body = gzip.compress(b"<p>a</p>" * 50) + gzip.compress(b"<p>b</p>")
    decoder = BoundedDecoder("gzip")
    for i in range(len(body)):
        decoder.feed(body[i:i + 1])
    assert decoder.finish() == b"<p>a</p>" * 50 + b"<p>b</p>"

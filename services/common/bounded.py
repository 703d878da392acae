"""Decompression that can never hold more than the page limit plus one chunk.

A compressed body is untrusted: 1 KB of brotli or gzip can expand to gigabytes. Every
decompressor call here is given an output cap (zlib's `max_length`, brotli's
`output_buffer_limit`), so the decoded bytes grow at most `chunk` at a time, and the
size limit and the ratio guard are checked after every call:

- more than `max_bytes` decoded → `too-large`;
- past `bomb_floor` decoded bytes, more than `max_ratio` times the compressed bytes
  consumed so far → `decompression-bomb` (refused after about a megabyte, not a gigabyte);
- a stream that ends before its end marker → `truncated-stream`;
- bytes after the end of a gzip stream that are neither another gzip member nor zero
  padding → `trailing-garbage`;
- a stream the decompressor cannot read → `corrupt-stream`.

Encodings: gzip (also several members back to back, as `gzip -c a b` writes), deflate
(the zlib-wrapped stream HTTP asks for, and the raw deflate many servers send instead),
brotli, identity. Everything refused raises `DecodeRefused` with a reason code and a
one-line detail; nothing else is raised for bad data.

Pure code, no I/O except `read_file`, which streams a file from disk through a decoder.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import brotli

CHUNK = 64 * 1024
"""Input is read, and output produced, at most this many bytes at a time."""


class DecodeRefused(ValueError):
    """The body is refused; `reason` is a short code, `detail` one line for a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PageLimits:
    """The limits a page is read under (the scraper's: NEWSFLOW_SCRAPER_MAX_PAGE_BYTES, ratio 100)."""

    max_bytes: int = 5 * 1024 * 1024
    max_ratio: int = 100
    """Refuse a compressed body that expands more than this many times …"""
    bomb_floor: int = 1024 * 1024
    """… once it has produced this many bytes (small, highly compressible pages are fine)."""
    chunk: int = CHUNK


ENCODINGS = ("identity", "gzip", "deflate", "br")


def normalise_encoding(name: str | None) -> str:
    """HTTP Content-Encoding → one of ENCODINGS; raises DecodeRefused for anything else."""
    value = (name or "identity").strip().lower()
    value = {"": "identity", "x-gzip": "gzip", "brotli": "br", "none": "identity"}.get(value, value)
    if value not in ENCODINGS:
        raise DecodeRefused("unsupported-encoding", f"content encoding {value[:40]!r} is not gzip, deflate, br or identity")
    return value


class BoundedDecoder:
    """Incremental decoding under `limits`: `feed(chunk)` as bytes arrive, then `finish()`.

    Holds at most `limits.max_bytes` decoded bytes plus one `limits.chunk`; raises
    DecodeRefused as soon as a limit is crossed or the stream is broken.
    """

    def __init__(self, encoding: str | None, limits: PageLimits | None = None) -> None:
        self.encoding = normalise_encoding(encoding)
        self.limits = limits or PageLimits()
        self.consumed = 0
        """Compressed bytes the decompressor has taken so far."""
        self._out = bytearray()
        self._z: zlib._Decompress | None = None  # type: ignore[name-defined]
        self._br: brotli.Decompressor | None = None
        self._pending = b""  # deflate: the first bytes, until we know zlib-wrapped or raw
        self._finished = False  # the compressed stream reached its end marker
        self._held = b""  # gzip: a lone first byte of a next member, split across chunks
        if self.encoding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "br":
            self._br = brotli.Decompressor()

    @property
    def size(self) -> int:
        return len(self._out)

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self.encoding == "identity":
            self.consumed += len(data)
            self._append(data)
        elif self.encoding == "br":
            self._feed_brotli(data)
        else:
            if self.encoding == "deflate" and self._z is None:
                self._pending += data
                if len(self._pending) < 2:
                    return
                data, self._pending = self._pending, b""
                self._z = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS)
            self._feed_zlib(data)

    def finish(self) -> bytes:
        """The decoded body; raises DecodeRefused when the stream ended too early."""
        if self.encoding == "deflate" and self._z is None and self._pending:
            data, self._pending = self._pending, b""
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            self._feed_zlib(data)
        if self._held:
            raise DecodeRefused("trailing-garbage", f"{len(self._held)} byte(s) after the end of the gzip stream")
        if self.encoding != "identity" and not self._finished:
            if self.consumed == 0 and self.encoding != "br":
                raise DecodeRefused("truncated-stream", f"empty {self.encoding} stream")
            raise DecodeRefused("truncated-stream", f"the {self.encoding} stream ends after {self.consumed} bytes, "
                                f"before its end marker ({len(self._out)} bytes decoded)")
        return bytes(self._out)

    # ------------------------------------------------------------------ internals

    def _append(self, data: bytes) -> None:
        self._out.extend(data)
        limits = self.limits
        if len(self._out) > limits.max_bytes:
            raise DecodeRefused("too-large", f"more than {limits.max_bytes} bytes after decoding")
        if (self.encoding != "identity" and len(self._out) > limits.bomb_floor
                and len(self._out) > limits.max_ratio * max(1, self.consumed)):
            raise DecodeRefused("decompression-bomb", f"{self.consumed} compressed bytes expand to more than "
                                f"{len(self._out)} ({limits.max_ratio}x limit)")

    def _cap(self) -> int:
        """Output allowed from the next call: one chunk, or one byte past the size limit."""
        return max(1, min(self.limits.chunk, self.limits.max_bytes - len(self._out) + 1))

    def _feed_zlib(self, data: bytes) -> None:
        assert self._z is not None
        while data:
            if self._finished:
                data = self._next_member(data)
                if not data:
                    return
            before = len(data)
            try:
                piece = self._z.decompress(data, self._cap())
            except zlib.error as exc:
                raise DecodeRefused("corrupt-stream", f"{self.encoding} stream is broken: {exc}") from None
            tail = self._z.unconsumed_tail
            if self._z.eof:
                unused = self._z.unused_data
                self.consumed += before - len(unused)
                self._finished = True
                self._append(piece)
                data = unused
                continue
            self.consumed += before - len(tail)
            self._append(piece)
            data = tail
            if not piece and len(tail) == before:  # no progress: cannot happen with max_length ≥ 1
                raise DecodeRefused("corrupt-stream", f"{self.encoding} decoder made no progress")

    def _next_member(self, data: bytes) -> bytes:
        """After a gzip member: another member, zero padding, or trailing garbage."""
        data, self._held = self._held + data, b""
        if self.encoding == "gzip":
            if data.startswith(b"\x1f\x8b"):
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._finished = False
                return data
            if data == b"\x1f":  # a member's first byte, the second is in the next chunk
                self._held = data
                return b""
        if data.strip(b"\x00"):
            what = "not a gzip member" if self.encoding == "gzip" else f"after the end of the {self.encoding} stream"
            raise DecodeRefused("trailing-garbage", f"{len(data)} bytes after the end of the stream ({what})")
        return b""

    def _feed_brotli(self, data: bytes) -> None:
        assert self._br is not None
        br = self._br
        if self._finished:
            if data:
                raise DecodeRefused("trailing-garbage", f"{len(data)} bytes after the end of the brotli stream")
            return
        try:
            self._drain_brotli()
            self._append(br.process(data, output_buffer_limit=self._cap()))
            self.consumed += len(data)
            self._drain_brotli()
        except brotli.error as exc:
            raise DecodeRefused("corrupt-stream", f"brotli stream is broken: {exc}") from None
        if br.is_finished():
            self._finished = True

    def _drain_brotli(self) -> None:
        """Pull the output brotli holds back (one capped call at a time) until it has none."""
        assert self._br is not None
        while not self._br.is_finished():
            piece = self._br.process(b"", output_buffer_limit=self._cap())
            if not piece:
                break
            self._append(piece)


def _zlib_header(data: bytes) -> bool:
    """True when `data` starts with a zlib header (deflate as RFC 9110 means it), not raw deflate."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] >> 4) <= 7 and ((data[0] << 8) | data[1]) % 31 == 0


def decode(body: bytes, encoding: str | None, limits: PageLimits | None = None) -> bytes:
    """Decode a whole body in memory (fed in chunks, so the same limits hold)."""
    limits = limits or PageLimits()
    decoder = BoundedDecoder(encoding, limits)
    view = memoryview(body)
    for start in range(0, len(body), limits.chunk):
        decoder.feed(bytes(view[start:start + limits.chunk]))
    return decoder.finish()


# Names a file may end with, and what they say about its encoding.
FILE_ENCODINGS = ((".gz", "gzip"), (".gzip", "gzip"), (".br", "br"), (".deflate", "deflate"), (".zz", "deflate"))


def encoding_of_file(name: str, head: bytes) -> str:
    """What a file says about its encoding: its suffix, else the gzip magic number."""
    lowered = name.lower()
    for suffix, encoding in FILE_ENCODINGS:
        if lowered.endswith(suffix):
            return encoding
    return "gzip" if head.startswith(b"\x1f\x8b") else "identity"


def read_stream(stream: BinaryIO, encoding: str, limits: PageLimits | None = None) -> bytes:
    """Read and decode `stream` chunk by chunk under `limits`."""
    limits = limits or PageLimits()
    decoder = BoundedDecoder(encoding, limits)
    while chunk := stream.read(limits.chunk):
        decoder.feed(chunk)
    return decoder.finish()


def read_file(path: Path, limits: PageLimits | None = None) -> bytes:
    """A page file's decoded bytes (see `encoding_of_file`); DecodeRefused or OSError otherwise."""
    limits = limits or PageLimits()
    with open(path, "rb") as stream:
        head = stream.read(2)
        encoding = encoding_of_file(path.name, head)
        decoder = BoundedDecoder(encoding, limits)
        decoder.feed(head)
        while chunk := stream.read(limits.chunk):
            decoder.feed(chunk)
        return decoder.finish()

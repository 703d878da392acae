"""Deciding how a fetched page is encoded, in the order browsers do.

1. a byte-order mark,
2. the charset parameter of the HTTP Content-Type header,
3. `<meta charset>` or `<meta http-equiv="Content-Type" content="…; charset=…">` in the first 4 KiB,
   (`<?xml encoding=…?>` for XML documents),
4. detection over the bytes (charset-normalizer), which handles windows-1251 and
   koi8-r pages that declare nothing,
5. UTF-8 with replacement as the last resort.

A declared charset is trusted only if the bytes decode with it; a page that says
utf-8 but is really windows-1251 (a common CMS bug) falls through to detection.

Only real text encodings are ever used (`TEXT_ENCODINGS`: the WHATWG Encoding
Standard's list as Python codecs). Python also has codecs that are not charsets at
all (`unicode_escape`, `rot13`, `base64`, `zip`, `punycode`, `utf-7` …): a label
naming one is ignored, whatever the header or `<meta>` says.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

from charset_normalizer import from_bytes

EncodingSource = Literal["bom", "http-header", "meta", "xml-declaration", "detected", "default"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:+-]+)["']""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([a-zA-Z0-9_:.+-]+)""", re.I)

# Labels pages use that Python spells differently (WHATWG encoding labels).
_ALIASES = {
    "win-1251": "cp1251",
    "windows-1251": "cp1251",
    "x-cp1251": "cp1251",
    "cp-1251": "cp1251",
    "koi8r": "koi8-r",
    "iso-8859-1": "cp1252",  # browsers decode latin-1 declarations as windows-1252
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "x-user-defined": "cp1252",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "csiso88598i": "iso8859-8",
}


# The WHATWG Encoding Standard's encodings (https://encoding.spec.whatwg.org/#names-and-labels),
# as the names `codecs.lookup` gives them. Nothing outside this set ever decodes a page.
TEXT_ENCODINGS = frozenset({
    "utf-8", "utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-32-le", "utf-32-be",
    "cp866", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8",
    "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16", "koi8-r", "koi8-u", "mac-roman",
    "cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "mac-cyrillic", "gbk", "gb18030", "gb2312", "big5", "big5hkscs", "euc_jp", "iso2022_jp", "shift_jis", "cp932",
    "euc_kr", "cp949", "iso8859-1", "ascii", "tis-620", "iso8859-11",
})


def normalise_label(label: str | None) -> str | None:
    """Python codec name for a charset label, or None unless it names a real text encoding."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    return name if name in TEXT_ENCODINGS else None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_label(match.group(1)) if match else None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(data: bytes, content_type: str | None = None) -> tuple[str, EncodingSource]:
    """Return (python codec name, where it came from) for `data`."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, "bom"
    declared = charset_from_content_type(content_type)
    if declared and _decodes(data, declared):
        return declared, "http-header"
    head = data[:4096]
    match = _XML_DECL.search(head)
    if match:
        xml_enc = normalise_label(match.group(1).decode("ascii", "replace"))
        if xml_enc and _decodes(data, xml_enc):
            return xml_enc, "xml-declaration"
    match = _META_CHARSET.search(head)
    if match:
        meta_enc = normalise_label(match.group(1).decode("ascii", "replace"))
        # A page that really is UTF-16 cannot carry an ASCII meta tag; ignore that claim.
        if meta_enc and not meta_enc.startswith("utf-16") and _decodes(data, meta_enc):
            return meta_enc, "meta"
    if _decodes(data, "utf-8"):
        return "utf-8", "detected"
    best = from_bytes(data[:200_000], cp_isolation=None).best()
    if best is not None and best.encoding:
        name = normalise_label(best.encoding)
        if name:
            return name, "detected"
    return "utf-8", "default"


def decode_body(data: bytes, content_type: str | None = None) -> tuple[str, str, EncodingSource]:
    """Decode a page: (text, encoding, source). Never raises; undecodable bytes are replaced."""
    encoding, source = detect_encoding(data, content_type)
    text = data.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, encoding, source

"""URL canonicalisation: one spelling per article, so variants are fetched once.

Lower-cases scheme and host, drops default ports, fragments, tracking parameters
(utm_*, fbclid, gclid, yclid, …) and empty queries, sorts the remaining query,
resolves dot segments, normalises percent-encoding, and applies the source's
trailing-slash policy. `http` and `https` spellings of a URL map to one canonical
form (https wins), because news sites serve the same article on both.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "ysclid", "msclkid", "mc_cid", "mc_eid",
        "_ga", "_gl", "igshid", "ref", "ref_src", "ref_url", "cmpid", "ito", "ns_mchannel", "ns_source",
        "ns_campaign", "ns_linkname", "ns_fee", "share", "from", "utm",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "hsa_", "_hs", "oly_", "rb_clickid", "spm")
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def _is_tracking(name: str) -> bool:
    lower = name.lower()
    return lower in TRACKING_PARAMS or lower.startswith(TRACKING_PREFIXES)


def _normalise_path(path: str, keep_trailing_slash: bool) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/")
    normalised = posixpath.normpath(path)
    if normalised.startswith("//"):
        normalised = "/" + normalised.lstrip("/")
    if normalised == ".":
        normalised = "/"
    # Re-encode consistently: decode first so %7E and ~ become one spelling.
    normalised = quote(unquote(normalised), safe=_SAFE_PATH)
    if normalised != "/":
        if trailing and keep_trailing_slash:
            normalised += "/"
    return normalised


def canonicalize(url: str, *, keep_trailing_slash: bool = True, prefer_https: bool = True) -> str:
    """Return the canonical spelling of `url`. Raises ValueError for a non-http(s) URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        pass
    port = parts.port
    if port in (80, 443):
        port = None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if prefer_https and scheme == "http" and port is None:
        scheme = "https"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(sorted(query_pairs), doseq=True)
    path = _normalise_path(parts.path, keep_trailing_slash)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def absolutize(base: str, href: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, href.strip())


_WS = re.compile(r"\s+")


def clean_url_text(text: str) -> str:
    """URLs in feeds often carry stray whitespace or newlines."""
    return _WS.sub("", text or "")


def host_key(url: str) -> str:
    """The politeness/partitioning key of a URL: host, plus the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        return f"{host}:{port}"
    return host

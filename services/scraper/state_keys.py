"""The key scheme of the crawl state's `seen` and `later` tables, in one place.

Keys are short ASCII strings: a one-letter prefix, a colon and (mostly) a 16-character
digest, because there is one key per article, millions in a long-running deployment.

    u:<digest of a dedup key>          seen   a page's `SeenEntry`, or a pointer to one (another spelling)
    g:<digest of source + feed GUID>   seen   a pointer to a page's key
    r:<page key>                       later  the next re-fetch of that page
    p:<digest of kind + source + url>  later  a parked frontier task

Changing a prefix or a digest makes every stored key unreadable: the scheme is part of the
state on disk and on the changelog topics.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

KeyKind = Literal["page", "guid", "refetch", "parked", "unknown"]


def short_digest(text: str) -> str:
    """96 bits of SHA-256, URL-safe base64 (16 characters): a compact state key.

    Collisions are negligible at the sizes the state holds (about 1e-17 for a million keys).
    """
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:12]).decode()


class StateKeys:
    """Builds and reads the keys of the crawl state (pure, no state of its own)."""

    PAGE = "u:"
    GUID = "g:"
    REFETCH = "r:"
    PARKED = "p:"
    _KINDS: dict[str, KeyKind] = {PAGE: "page", GUID: "guid", REFETCH: "refetch", PARKED: "parked"}

    @staticmethod
    def page(dedup_key: str) -> str:
        """The `seen` key of a page: `u:` + a digest of its dedup key."""
        return StateKeys.PAGE + short_digest(dedup_key)

    @staticmethod
    def guid(source: str, guid: str) -> str:
        """The `seen` key of a feed GUID (stable across URL changes of one item)."""
        return StateKeys.GUID + short_digest(f"{source}\0{guid}")

    @staticmethod
    def refetch(page_key: str) -> str:
        """The `later` key of a page's next re-fetch."""
        return StateKeys.REFETCH + page_key

    @staticmethod
    def parked(kind: str, source: str, url: str) -> str:
        """The `later` key of a parked task (one per kind, source and URL)."""
        return StateKeys.PARKED + short_digest(f"{kind}\0{source}\0{url}")

    @staticmethod
    def kind(key: str) -> KeyKind:
        """What a key stands for, read from its prefix."""
        return StateKeys._KINDS.get(key[:2], "unknown")

    @staticmethod
    def page_of_refetch(key: str) -> str | None:
        """The page key a re-fetch key points at; None for any other key."""
        return key[len(StateKeys.REFETCH):] if key.startswith(StateKeys.REFETCH) else None

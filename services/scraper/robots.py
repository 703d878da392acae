"""robots.txt per host, parsed with protego (Scrapy's maintained parser).

Rules are cached per host for `ttl` seconds. A missing robots.txt (404/410) allows
everything; a server error or timeout disallows the host for a while (RFC 9309:
treat 5xx as complete disallow) and is retried after `error_ttl`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from protego import Protego


@dataclass
class RobotsRules:
    parser: Protego | None
    fetched_at: float
    allow_all: bool = False
    disallow_all: bool = False
    unreachable: bool = False
    """robots.txt answered 5xx or not at all: everything waits until it is asked again."""

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.allow_all:
            return True
        if self.disallow_all or self.parser is None:
            return False
        return bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None

    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


def rules_from_response(status: int | None, body: bytes | None, now: float | None = None) -> RobotsRules:
    now = time.monotonic() if now is None else now
    if status is not None and 200 <= status < 300 and body is not None:
        text = body.decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text), now)
    if status is not None and 400 <= status < 500:
        return RobotsRules(None, now, allow_all=True)
    return RobotsRules(None, now, disallow_all=True, unreachable=True)


class RobotsCache:
    def __init__(self, ttl: float = 3600.0, error_ttl: float = 60.0) -> None:
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._rules: dict[str, RobotsRules] = {}

    def get(self, origin: str) -> RobotsRules | None:
        rules = self._rules.get(origin)
        if rules is None:
            return None
        ttl = self.error_ttl if rules.disallow_all else self.ttl
        if time.monotonic() - rules.fetched_at > ttl:
            return None
        return rules

    def put(self, origin: str, rules: RobotsRules) -> None:
        self._rules[origin] = rules

"""A sources file for the sample site, for whatever URL it is served at."""

from __future__ import annotations

from typing import Any

from devtools.samplesite.server import Manifest, load_manifest


def sample_sources(base_url: str, manifest: Manifest | None = None, *, poll_interval: float = 60.0,
                   min_delay: float = 0.05) -> dict[str, Any]:
    """One source per outlet (its feed or sitemap), allowed to fetch 127.0.0.1."""
    manifest = manifest or load_manifest()
    host = base_url.split("//", 1)[1].split("/")[0].split(":")[0]
    sources = []
    for outlet in manifest.outlets.values():
        feed_url = base_url + manifest.feed_path(outlet)
        entry: dict[str, Any] = {
            "name": outlet.id,
            "feeds": [feed_url] if outlet.feed in ("rss", "atom") else [],
            "sitemaps": [feed_url] if outlet.feed in ("sitemap", "news-sitemap") else [],
            "allowed_domains": [host],
            "language": outlet.language,
            "timezone": outlet.timezone,
            # The sample site runs on loopback: only sources that say so may fetch it.
            "allow_private_addresses": True,
        }
        if any(not p.is_article and p.outlet == outlet.id for p in manifest.pages):
            entry["sitemaps"].append(base_url + "/sitemap-sections.xml")
        sources.append(entry)
    return {
        "user_agent": "newsflow-demo/0.1 (+https://newsflow.invalid/bot)",
        "defaults": {"poll_interval": poll_interval, "politeness": {"min_delay": min_delay, "max_concurrency": 2}},
        "sources": sources,
    }

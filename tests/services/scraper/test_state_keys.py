"""The crawl state's key scheme: stable, short, distinct per kind, readable back."""

from __future__ import annotations

from services.scraper.state_keys import StateKeys, short_digest


def test_keys_are_short_and_stable() -> None:
    url = "https://vestnik.example/news/2025/10/10/putin-aliev-dushanbe-peregovory/"
    key = StateKeys.page(url)
    assert key == StateKeys.page(url)
    assert len(key) == 18 and key.startswith("u:")
    # The digest is part of the stored state: a change here would orphan every key on disk.
    assert short_digest("https://a.example/") == "vv3kmKRbbIIISgdw"


def test_each_kind_has_its_prefix_and_reads_back() -> None:
    page = StateKeys.page("https://a.example/1")
    keys = {
        "page": page,
        "guid": StateKeys.guid("src", "guid-1"),
        "refetch": StateKeys.refetch(page),
        "parked": StateKeys.parked("page", "src", "https://a.example/1"),
    }
    assert {kind: StateKeys.kind(key) for kind, key in keys.items()} == {kind: kind for kind in keys}
    assert StateKeys.kind("x:whatever") == "unknown" and StateKeys.kind("") == "unknown"
    assert StateKeys.page_of_refetch(keys["refetch"]) == page
    assert StateKeys.page_of_refetch(page) is None


def test_distinct_inputs_give_distinct_keys() -> None:
    assert StateKeys.guid("src", "g1") != StateKeys.guid("src2", "g1")
    assert StateKeys.guid("src", "g1") != StateKeys.guid("src", "g2")
    # The separator keeps "a" + "b/c" apart from "a/b" + "c".
    assert StateKeys.parked("page", "a", "b") != StateKeys.parked("pag", "ea", "b")
    assert StateKeys.parked("page", "src", "https://a.example/") != StateKeys.parked("feed", "src", "https://a.example/")


def test_a_url_that_is_not_valid_utf8_still_gets_a_key() -> None:
    # Lone surrogates come from percent-decoding hostile URLs; they must not crash the crawler.
    assert StateKeys.page("https://a.example/\udcff").startswith("u:")

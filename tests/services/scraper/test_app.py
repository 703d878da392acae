"""The scraper's wiring, without starting it: where its crawl state is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.app import build_app
from services.scraper.app import ScraperSettings, create_app, open_crawl_state
from services.scraper.state import MemoryStore, RocksStore


def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> ScraperSettings:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: []\n")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_SCRAPER_SOURCES_FILE", str(sources))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ScraperSettings()


def test_the_app_builds_without_io(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = create_app(settings(monkeypatch, tmp_path))
    assert {"crawl_frontier", "handle_crawl_requests"} <= {agent.split(".")[-1] for agent in app.agents}
    assert "state_restored" in app.health.extra_checks
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("CURRENT")), "no store opened yet"


def crawl_state(s: ScraperSettings):  # type: ignore[no-untyped-def]
    state, changelogs = open_crawl_state(build_app("scraper", s), s)
    assert set(changelogs) == {"seen", "later", "feeds"}
    return state


async def test_the_crawl_state_is_on_disk_in_rocksdb_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    state = crawl_state(settings(monkeypatch, tmp_path))
    state.assign({0, 3})
    try:
        stores = {p: state.store(p) for p in (0, 3)}
        assert all(isinstance(store, RocksStore) for store in stores.values())
        assert {store.path.name for store in stores.values()} == {"frontier-0", "frontier-3"}
        assert all((store.path / "CURRENT").exists() and str(store.path).startswith(str(tmp_path / "data")) for store in stores.values())
    finally:
        await state.close()


async def test_memory_store_on_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    state = crawl_state(settings(monkeypatch, tmp_path, NEWSFLOW_SCRAPER_STATE_STORE="memory://"))
    state.assign({1})
    assert isinstance(state.store(1), MemoryStore)
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("CURRENT"))
    await state.close()

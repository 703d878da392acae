"""The scraper's wiring, without starting it: where its crawl state is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scraper.app import ScraperSettings, create_app
from services.scraper.state import MemoryStore, RocksStore


def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> ScraperSettings:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: []\n")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_SCRAPER_SOURCES_FILE", str(sources))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ScraperSettings()


async def test_the_crawl_state_is_on_disk_in_rocksdb_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = create_app(settings(monkeypatch, tmp_path))
    state = app.newsflow_state  # type: ignore[attr-defined]
    state.assign({0, 3})
    try:
        stores = {p: state.store(p) for p in (0, 3)}
        assert all(isinstance(store, RocksStore) for store in stores.values())
        assert {store.path.name for store in stores.values()} == {"frontier-0", "frontier-3"}
        assert all((store.path / "CURRENT").exists() and str(store.path).startswith(str(tmp_path / "data")) for store in stores.values())
    finally:
        await state.close()


async def test_memory_store_on_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = create_app(settings(monkeypatch, tmp_path, NEWSFLOW_SCRAPER_STATE_STORE="memory://"))
    state = app.newsflow_state  # type: ignore[attr-defined]
    state.assign({1})
    assert isinstance(state.store(1), MemoryStore)
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("CURRENT"))
    await state.close()

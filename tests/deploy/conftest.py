"""Shared helpers for the deployment tests: paths, tools, and the settings' env names."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command-line tool from the venv or the system; fails (never skips) when it is missing."""
    found = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    if not found:
        pytest.fail(f"`{name}` is not installed; `make setup` installs it (deploy/local/system-packages.sh, requirements.lock)")
    return found


def run(cmd: list[str], *, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def known_env_names() -> set[str]:
    """Every environment variable the settings classes read (NEWSFLOW_*), plus the image's own."""
    from services.common.settings import ElasticsearchSettings, KafkaSettings, RuntimeSettings
    from services.enrichment.app import EnrichmentSettings
    from services.indexer.settings import IndexerSettings
    from services.parser.app import ParserSettings
    from services.scraper.app import ScraperSettings

    names: set[str] = set()
    for cls in (KafkaSettings, ElasticsearchSettings, RuntimeSettings, ScraperSettings, ParserSettings, EnrichmentSettings, IndexerSettings):
        prefix = cls.model_config.get("env_prefix", "")
        for field, info in cls.model_fields.items():
            if field in ("kafka", "runtime", "es"):
                continue  # nested settings read their own prefix
            names.add((prefix + field).upper())
    # Read by the container entrypoint and health check, not by a settings class.
    names.add("NEWSFLOW_SERVICE")
    return names

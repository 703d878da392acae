"""The Dockerfiles: hadolint-clean, pinned, non-root, with a health check and a working entrypoint."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, REPO, run, tool

DOCKER = DEPLOY / "docker"
DOCKERFILES = ("Dockerfile", "elasticsearch.Dockerfile")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_passes(name: str) -> None:
    result = run([tool("hadolint"), "--config", str(REPO / ".hadolint.yaml"), str(DOCKER / name)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert run([tool("hadolint"), "--config", str(REPO / ".hadolint.yaml"), str(bad)]).returncode != 0


def test_hadolint_ignores_are_explained() -> None:
    lines = (REPO / ".hadolint.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*DL\d+|\s*-\s*SC\d+", line):
            assert "#" in line or (i and lines[i - 1].strip().startswith("#")), f"ignore without a reason: {line}"


def test_service_image_is_pinned_multi_stage_and_non_root() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, re.MULTILINE)
    assert re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS (\w+)", text, re.MULTILINE) == ["build", "runtime"]
    assert "pip install --no-cache-dir -c requirements.lock ." in text
    assert "COPY --from=build /opt/newsflow /opt/newsflow" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r'^HEALTHCHECK .*\n?.*CMD \["python", "-m", "services.ops.healthcheck"\]', text, re.MULTILINE)
    assert 'ENTRYPOINT ["/bin/sh", "/usr/local/bin/newsflow-entrypoint"]' in text


def test_elasticsearch_image_has_the_hunspell_dictionaries() -> None:
    text = (DOCKER / "elasticsearch.Dockerfile").read_text()
    assert "ARG ES_VERSION=9.5.4" in text
    assert "FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}" in text
    assert re.search(r"apt-get install .*hunspell-ru=\S+ hunspell-en-us=\S+", text)
    for locale in ("ru_RU", "en_US"):
        assert f"/usr/share/hunspell/{locale}.aff /usr/share/hunspell/{locale}.dic /hunspell/{locale}/" in text
    assert "/hunspell/ /usr/share/elasticsearch/config/hunspell/" in text
    # The same version the local stack and the tests run.
    from devtools.devstack.stack import ELASTICSEARCH_VERSION, HUNSPELL_LOCALES

    assert ELASTICSEARCH_VERSION == "9.5.4" and set(HUNSPELL_LOCALES) == {"ru_RU", "en_US"}
    mappings = (REPO / "schemas" / "elasticsearch" / "mappings.json").read_text()
    assert '"locale": "ru_RU"' in mappings and '"locale": "en_US"' in mappings


def _dockerignore_allows(path: str) -> bool:
    """.dockerignore semantics for our file: the last matching pattern wins, `!` re-includes."""
    allowed = True
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.rstrip("/")
        regex = "^" + re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*") + "(/.*)?$"
        if re.match(regex, path):
            allowed = negate
    return allowed


def test_build_context_contains_what_the_dockerfile_copies() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    sources = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE):
        parts = [p for p in line.split() if not p.startswith("--")]
        sources += parts[:-1]
    assert "services" in sources and "requirements.lock" in sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert _dockerignore_allows(source), f".dockerignore excludes {source}"
    for excluded in (".venv/bin/python", ".stack/downloads", ".git/config", "tests/conftest.py", "services/__pycache__/x.pyc"):
        assert not _dockerignore_allows(excluded), excluded


def _entrypoint(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A stand-in `newsflow` on PATH records how the entrypoint called it.
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "newsflow"
    fake.write_text('#!/bin/sh\necho "newsflow $*"\n')
    fake.chmod(0o755)
    return subprocess.run(
        ["/bin/sh", str(DOCKER / "entrypoint.sh"), *args],
        env={"PATH": f"{bindir}:{os.environ['PATH']}", **env}, capture_output=True, text=True, timeout=10,
    )


def test_entrypoint_runs_the_service_from_env_or_argument(tmp_path: Path) -> None:
    assert _entrypoint([], {"NEWSFLOW_SERVICE": "parser"}, tmp_path).stdout.strip() == "newsflow run parser"
    assert _entrypoint(["indexer"], {}, tmp_path).stdout.strip() == "newsflow run indexer"
    other = _entrypoint(["echo", "hello"], {"NEWSFLOW_SERVICE": "parser"}, tmp_path)
    assert other.stdout.strip() == "hello"
    missing = _entrypoint([], {}, tmp_path)
    assert missing.returncode == 64 and "NEWSFLOW_SERVICE" in missing.stderr

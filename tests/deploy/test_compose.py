"""deploy/compose/docker-compose.yml: valid for docker-compose, and complete as a deployment."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, known_env_names, run, tool

COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
STAGES = {"scraper": 8101, "parser": 8102, "enrichment": 8103, "indexer": 8104}


@pytest.fixture(scope="module")
def config() -> dict:  # type: ignore[type-arg]
    """The file as docker-compose resolves it (anchors merged, paths absolute)."""
    result = run([tool("docker-compose"), "-f", str(COMPOSE), "config"])
    assert result.returncode == 0, result.stdout + result.stderr
    return yaml.safe_load(result.stdout)


def test_docker_compose_accepts_the_file(config: dict) -> None:  # type: ignore[type-arg]
    assert set(config["services"]) == {"kafka", "elasticsearch", "init", "samplesite", *STAGES, "prometheus", "grafana"}


def test_docker_compose_rejects_a_broken_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    mem_limit: 512m\n    cpus: 0.5\n", "    mem_limit: [512m]\n", 1))
    assert run([tool("docker-compose"), "-f", str(broken), "config"]).returncode != 0


def test_every_long_running_service_has_limits_healthcheck_and_restart(config: dict) -> None:  # type: ignore[type-arg]
    for name, service in config["services"].items():
        assert service.get("mem_limit"), name
        assert service.get("cpus"), name
        if name == "init":
            assert service["restart"] == "no"
            continue
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name


def test_images_are_pinned(config: dict) -> None:  # type: ignore[type-arg]
    for name, service in config["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image}"
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", config["services"]["kafka"]["image"])


def test_stages_start_after_init_and_run_locked_down(config: dict) -> None:  # type: ignore[type-arg]
    assert config["services"]["init"]["command"][:3] == ["python", "-m", "services.ops.init"]
    assert config["services"]["init"]["depends_on"] == {
        "kafka": {"condition": "service_healthy"}, "elasticsearch": {"condition": "service_healthy"},
    }
    for stage, port in STAGES.items():
        service = config["services"][stage]
        env = service["environment"]
        assert service["depends_on"]["init"] == {"condition": "service_completed_successfully"}, stage
        assert env["NEWSFLOW_SERVICE"] == stage
        assert env[f"NEWSFLOW_{stage.upper()}_HTTP_PORT"] == str(port)
        assert env["NEWSFLOW_KAFKA_BOOTSTRAP"] == "kafka:9092"
        # Writable data dir on a read-only root: tmpfs, or for the scraper its crawl-state volume.
        data_dir_mounted = "/var/lib/newsflow" in service["tmpfs"] or any(v.endswith(":/var/lib/newsflow:rw") for v in service.get("volumes", []))
        assert service["read_only"] is True and data_dir_mounted, stage
        assert service["cap_drop"] == ["ALL"]
        assert f"127.0.0.1:{port}:{port}/tcp" in service["ports"]


def test_environment_names_are_settings_the_services_read(config: dict) -> None:  # type: ignore[type-arg]
    known = known_env_names()
    for name, service in config["services"].items():
        for key in service.get("environment", {}):
            if key.startswith("NEWSFLOW_"):
                assert key in known, f"{name}: {key} is not read by any settings class"


def test_data_lives_in_named_volumes(config: dict) -> None:  # type: ignore[type-arg]
    assert set(config["volumes"]) == {"kafka-data", "es-data", "prometheus-data", "grafana-data", "scraper-state"}
    assert "scraper-state:/var/lib/newsflow:rw" in config["services"]["scraper"]["volumes"], "the crawl state survives a restart"
    assert config["services"]["scraper"]["environment"]["NEWSFLOW_SCRAPER_STATE_STORE"] == "rocksdb://"
    assert "kafka-data:/var/lib/kafka/data:rw" in config["services"]["kafka"]["volumes"]
    assert "es-data:/usr/share/elasticsearch/data:rw" in config["services"]["elasticsearch"]["volumes"]


def test_prometheus_scrapes_the_compose_services() -> None:
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "newsflow")
    targets = {c["labels"]["service"]: c["targets"] for c in job["static_configs"]}
    assert targets == {stage: [f"{stage}:{port}"] for stage, port in STAGES.items()}


def test_the_compose_sources_file_is_valid_and_crawls_the_sample_site() -> None:
    from schemas.sources import load_sources

    sources = load_sources(DEPLOY / "compose" / "sources.yaml")
    assert {s.name for s in sources.sources} == {"vestnik", "gorod", "ledger", "express"}
    for source in sources.sources:
        assert all(url.startswith("http://samplesite:8800/") for url in [*source.feeds, *source.sitemaps])

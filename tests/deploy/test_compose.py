"""deploy/compose/docker-compose.yml: valid for docker-compose, and complete as a deployment."""

from __future__ import annotations

import re

import pytest
import yaml

from services.common.service_catalogue import DEFAULT_PORTS
from tests.deploy.conftest import DEPLOY, known_env_names, run, tool

COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
STAGES = DEFAULT_PORTS  # name → HTTP port, from the service catalogue


@pytest.fixture(scope="module")
def config() -> dict:  # type: ignore[type-arg]
    """The file as docker-compose resolves it (anchors merged, paths absolute)."""
    result = run([tool("docker-compose"), "-f", str(COMPOSE), "config"])
    assert result.returncode == 0, result.stdout + result.stderr
    return yaml.safe_load(result.stdout)


ONE_SHOT = {"init", "es-certs", "provision"}


def test_docker_compose_accepts_the_file(config: dict) -> None:  # type: ignore[type-arg]
    assert set(config["services"]) == {"kafka", "elasticsearch", *ONE_SHOT, "samplesite", *STAGES, "prometheus", "grafana"}


def test_docker_compose_rejects_a_broken_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    mem_limit: 512m\n    cpus: 0.5\n", "    mem_limit: [512m]\n", 1))
    assert run([tool("docker-compose"), "-f", str(broken), "config"]).returncode != 0


def test_every_long_running_service_has_limits_healthcheck_and_restart(config: dict) -> None:  # type: ignore[type-arg]
    for name, service in config["services"].items():
        assert service.get("mem_limit"), name
        assert service.get("cpus"), name
        if name in ONE_SHOT:
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
    assert config["services"]["provision"]["depends_on"] == {
        "kafka": {"condition": "service_healthy"}, "elasticsearch": {"condition": "service_healthy"},
    }
    assert config["services"]["init"]["depends_on"] == {"provision": {"condition": "service_completed_successfully"}}
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
    assert set(config["volumes"]) == {"kafka-data", "es-data", "es-certs", "prometheus-data", "grafana-data", "scraper-state"}
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


# --------------------------------------------------------------------------- security


def _secrets(service: dict) -> set[str]:  # type: ignore[type-arg]
    return {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}


def test_every_secret_is_a_file_and_no_password_is_in_an_environment(config: dict) -> None:  # type: ignore[type-arg]
    assert config["secrets"] and all(set(s) == {"file"} and "/deploy/compose/secrets/" in s["file"] for s in config["secrets"].values())
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key.upper() for word in ("PASSWORD", "API_KEY", "SECRET", "JAAS")):
                assert key.endswith(("_FILE", "__FILE")), f"{name}: {key} must point at a secret file"
                assert str(value).startswith("/run/secrets/") and str(value).removeprefix("/run/secrets/") in _secrets(service), f"{name}: {key}"


def test_each_stage_runs_as_its_own_role_with_only_its_own_secrets(config: dict) -> None:  # type: ignore[type-arg]
    for stage in STAGES:
        service = config["services"][stage]
        env = service["environment"]
        assert env["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["NEWSFLOW_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["NEWSFLOW_KAFKA_USERNAME"] == f"newsflow-{stage}"
        assert env["NEWSFLOW_ES_URL"].startswith("https://") and env["NEWSFLOW_ES_CA_CERTS"] == "/certs/ca/ca.crt"
        wanted = {f"kafka-{stage}.password"} | ({"es-indexer.password"} if stage == "indexer" else set())
        assert _secrets(service) == wanted, stage
        assert (env.get("NEWSFLOW_ES_USERNAME") == "newsflow-indexer") is (stage == "indexer")
    init = config["services"]["init"]
    assert init["environment"]["NEWSFLOW_KAFKA_USERNAME"] == "newsflow-operator" == init["environment"]["NEWSFLOW_ES_USERNAME"]
    assert _secrets(init) == {"kafka-operator.password", "es-operator.password"}
    # The administrators' passwords reach the provision job and the servers themselves, nothing else.
    holders = {n for n, s in config["services"].items() if _secrets(s) & {"kafka-admin.password", "es-elastic.password"}}
    assert holders == {"provision", "kafka", "elasticsearch"}
    assert config["services"]["provision"]["command"][-4:] == ["access", "apply", "--passwords", "/run/secrets"]


def test_the_provision_job_has_a_password_file_for_every_role() -> None:
    from services.ops.access import ES_ROLES, KAFKA_ROLES

    config = yaml.safe_load(COMPOSE.read_text())
    wanted = {f"kafka-{r}.password" for r in KAFKA_ROLES} | {f"es-{r}.password" for r in ES_ROLES}
    assert wanted <= set(config["services"]["provision"]["secrets"])
    script = (DEPLOY / "compose" / "generate-secrets.sh").read_text()
    for secret in config["secrets"]:
        assert secret.removesuffix(".password") in script, f"generate-secrets.sh does not make {secret}"


def test_generate_secrets_makes_private_random_files_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import stat

    shutil.copy(DEPLOY / "compose" / "generate-secrets.sh", tmp_path)
    first = run(["bash", str(tmp_path / "generate-secrets.sh")])
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "secrets"
    files = sorted(folder.iterdir())
    assert len(files) == 13 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    values = [f.read_text() for f in files]
    assert len(set(values)) == len(values) and all(len(v) >= 40 and "\n" not in v for v in values)
    again = run(["bash", str(tmp_path / "generate-secrets.sh")])
    assert again.returncode == 0 and [f.read_text() for f in sorted(folder.iterdir())] == values, "existing secrets are kept"


def test_kafka_takes_sasl_clients_only_and_authorises_with_acls() -> None:
    config = yaml.safe_load(COMPOSE.read_text())
    kafka = config["services"]["kafka"]
    assert kafka["entrypoint"] == ["/bin/bash", "/etc/newsflow/kafka-start.sh"]
    assert not any(k.startswith("KAFKA_") and "LISTENER" in k for k in kafka["environment"]), "listeners come from the script"
    script = (DEPLOY / "compose" / "kafka-start.sh").read_text()
    protocols = next(line for line in script.splitlines() if line.startswith("listener.security.protocol.map="))
    assert "PLAINTEXT" not in protocols.replace("SASL_PLAINTEXT", ""), protocols
    for line in ("authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                 "allow.everyone.if.no.acl.found=false", "sasl.enabled.mechanisms=SCRAM-SHA-512"):
        assert line in script
    assert "/run/secrets/" in script and "--add-scram" in script
    check = run(["bash", "-n", str(DEPLOY / "compose" / "kafka-start.sh")])
    assert check.returncode == 0, check.stderr


def test_elasticsearch_and_grafana_admit_nobody_anonymous(config: dict) -> None:  # type: ignore[type-arg]
    es = config["services"]["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true" and es["xpack.security.http.ssl.enabled"] == "true"
    assert not any(k.startswith("xpack.security.authc.anonymous") for k in es)
    assert es["ELASTIC_PASSWORD_FILE"] == "/run/secrets/es-elastic.password"
    assert "127.0.0.1:9200:9200/tcp" in config["services"]["elasticsearch"]["ports"]
    grafana = config["services"]["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin.password"

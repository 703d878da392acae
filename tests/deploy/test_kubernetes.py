"""deploy/k8s: both overlays render with kustomize, every object validates against the
Kubernetes schemas (strict), and the manifests hold what running a stream service needs."""

from __future__ import annotations

import copy

import pytest
import yaml

from services.common.service_catalogue import DEFAULT_PORTS
from tests.deploy.conftest import DEPLOY, known_env_names, run, tool

OVERLAYS = ("dev", "prod")
# kubernetes-validate ships schemas up to 1.37; 1.32 is the oldest release still commonly run.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
STAGES = DEFAULT_PORTS  # name → HTTP port, from the service catalogue


def render(overlay: str) -> list[dict]:  # type: ignore[type-arg]
    result = run([tool("kubectl"), "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)])
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    return request.param, render(request.param)


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(doc: dict) -> dict:  # type: ignore[type-arg]
    return doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(rendered, version: str) -> None:  # type: ignore[no-untyped-def]
    import kubernetes_validate

    overlay, docs = rendered
    assert len(docs) > 15
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {exc.message} at {list(exc.path)}")


def test_the_validator_rejects_a_misplaced_field() -> None:
    import kubernetes_validate

    deployment = copy.deepcopy(of_kind(render("dev"), "Deployment")["newsflow-parser"])
    pod_spec(deployment)["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_kubernetes_validate_cli_accepts_the_rendered_overlays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for overlay in OVERLAYS:
        path = tmp_path / f"{overlay}.yaml"
        path.write_text(yaml.safe_dump_all(render(overlay)))
        result = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSIONS[0], "--quiet", str(path)])
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_stage_is_a_hardened_deployment_with_probes_and_resources(rendered) -> None:  # type: ignore[no-untyped-def]
    overlay, docs = rendered
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == {f"newsflow-{s}" for s in STAGES}
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("newsflow-config"))
    data_dir = config["data"]["NEWSFLOW_DATA_DIR"]
    for name, deployment in deployments.items():
        stage = name.removeprefix("newsflow-")
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        (container,) = spec["containers"]
        assert container["args"] == [stage], name
        assert container["ports"] == [{"name": "http", "containerPort": STAGES[stage], "protocol": "TCP"}], name
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert container["startupProbe"]["httpGet"]["path"] == "/livez", name
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"]), name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["runAsNonRoot"] is True, name
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"], name
        # Writable places on a read-only root: faust's data dir and /tmp. The scraper's data
        # dir holds its RocksDB crawl state: a volume claimed per pod; the others are emptyDirs.
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp"
        assert data_dir in mounts, f"{name}: {data_dir}"
        if stage == "scraper":
            claim = volumes[mounts[data_dir]]["ephemeral"]["volumeClaimTemplate"]["spec"]
            assert claim["accessModes"] == ["ReadWriteOnce"] and claim["resources"]["requests"]["storage"], name
        else:
            assert "emptyDir" in volumes[mounts[data_dir]], f"{name}: {data_dir}"
        env = {e["name"]: e for e in container["env"]}
        assert env[f"NEWSFLOW_{stage.upper()}_HTTP_PORT"]["value"] == str(STAGES[stage]), name
        assert env[f"NEWSFLOW_{stage.upper()}_HTTP_HOST"]["value"] == "0.0.0.0", name
        assert env["NEWSFLOW_KAFKA_USERNAME"]["value"] == f"newsflow-{stage}", name
        assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"], name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(STAGES[stage]), name


def test_each_pod_gets_its_own_role_s_secret_as_files_and_never_in_its_environment(rendered) -> None:  # type: ignore[no-untyped-def]
    overlay, docs = rendered
    roles = {f"newsflow-{s}": s for s in STAGES} | {"newsflow-init": "operator"}
    for name, doc in [*of_kind(docs, "Deployment").items(), *of_kind(docs, "Job").items()]:
        role = roles[name]
        spec = pod_spec(doc)
        (container,) = spec["containers"]
        secrets = [v for v in spec["volumes"] if "secret" in v]
        assert [v["secret"]["secretName"] for v in secrets] == [f"newsflow-{role}"], (overlay, name)
        (volume,) = secrets
        assert volume["secret"]["optional"] is False and volume["secret"]["defaultMode"] == 0o400, (overlay, name)
        mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
        assert mount["readOnly"] is True, (overlay, name)
        env = {e["name"]: e for e in container["env"]}
        for key, value in env.items():
            assert "valueFrom" not in value, f"{name}: {key} — secrets are files, not environment variables"
        assert env["NEWSFLOW_KAFKA_PASSWORD_FILE"]["value"] == f"{mount['mountPath']}/kafka-password", (overlay, name)
        assert env["NEWSFLOW_KAFKA_USERNAME"]["value"] == f"newsflow-{role}", (overlay, name)
        talks_to_es = role in ("indexer", "operator")
        assert ("NEWSFLOW_ES_PASSWORD_FILE" in env) is talks_to_es, (overlay, name)
        if talks_to_es:
            assert env["NEWSFLOW_ES_PASSWORD_FILE"]["value"] == f"{mount['mountPath']}/es-password"
            assert env["NEWSFLOW_ES_USERNAME"]["value"] == f"newsflow-{role}"
    assert not any(d["kind"] == "Secret" for d in docs), "no Secret is committed"


def test_connections_are_authenticated_and_encrypted(rendered) -> None:  # type: ignore[no-untyped-def]
    overlay, docs = rendered
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("newsflow-config"))["data"]
    assert config["NEWSFLOW_ES_URL"].startswith("https://")
    assert config["NEWSFLOW_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    # Dev's in-cluster Kafka listener may skip TLS; production's may not.
    assert config["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] == ("SASL_PLAINTEXT" if overlay == "dev" else "SASL_SSL")
    assert "NEWSFLOW_KAFKA_USERNAME" not in config and "NEWSFLOW_ES_USERNAME" not in config, "one user per role, set per pod"


def test_configuration_names_are_settings_the_services_read(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    known = known_env_names()
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("newsflow-config"))
    for key in config["data"]:
        assert key in known, f"{key} is not read by any settings class"
    for doc in [*of_kind(docs, "Deployment").values(), *of_kind(docs, "Job").values()]:
        for env in pod_spec(doc)["containers"][0].get("env", []):
            assert env["name"] in known, f"{doc['metadata']['name']}: {env['name']}"


def test_sources_configmap_is_a_valid_sources_file(rendered) -> None:  # type: ignore[no-untyped-def]
    from schemas.sources import load_sources

    _, docs = rendered
    sources = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("newsflow-sources"))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sources.yaml"
        path.write_text(sources["data"]["sources.yaml"])
        load_sources(path)
    mounted = [d for d in of_kind(docs, "Deployment").values()
               if any(v.get("configMap", {}).get("name") == sources["metadata"]["name"] for v in pod_spec(d)["volumes"])]
    assert {d["metadata"]["name"] for d in mounted} == {"newsflow-scraper", "newsflow-parser"}


def test_services_pdbs_and_autoscalers_match_the_stages(rendered) -> None:  # type: ignore[no-untyped-def]
    from schemas.topics import CATALOGUE

    overlay, docs = rendered
    deployments = of_kind(docs, "Deployment")
    for name, service in of_kind(docs, "Service").items():
        selector = service["spec"]["selector"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
        assert service["spec"]["ports"][0]["port"] == STAGES[name.removeprefix("newsflow-")]
    pdbs = of_kind(docs, "PodDisruptionBudget")
    assert set(pdbs) == set(deployments)
    for name, pdb in pdbs.items():
        assert pdb["spec"]["selector"]["matchLabels"] == deployments[name]["spec"]["selector"]["matchLabels"]
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    if overlay == "dev":
        assert hpas == {} and all(d["spec"]["replicas"] == 1 for d in deployments.values())
        return
    assert set(hpas) == {"newsflow-parser", "newsflow-enrichment", "newsflow-indexer"}
    partitions = {c: spec.partitions for spec in CATALOGUE for c in spec.consumers}
    for name, hpa in hpas.items():
        stage = name.removeprefix("newsflow-")
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        # More consumers than partitions would sit idle.
        assert hpa["spec"]["maxReplicas"] <= partitions[stage], name
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns replicas"
        assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_init_job_runs_the_init_module(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    job = of_kind(docs, "Job")["newsflow-init"]
    spec = pod_spec(job)
    (container,) = spec["containers"]
    assert container["args"][:3] == ["python", "-m", "services.ops.init"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["restartPolicy"] == "OnFailure"


def test_network_policies_deny_ingress_and_keep_the_scraper_off_private_networks(rendered) -> None:  # type: ignore[no-untyped-def]
    _, docs = rendered
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["newsflow-default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    scraper = policies["newsflow-egress-scraper-internet"]["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert scraper["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
            "0.0.0.0/8", "198.18.0.0/15", "240.0.0.0/4"} <= set(scraper["except"])
    scraper6 = policies["newsflow-egress-scraper-internet"]["spec"]["egress"][0]["to"][1]["ipBlock"]
    assert scraper6["cidr"] == "::/0"
    assert {"fc00::/7", "fe80::/10", "::1/128", "64:ff9b::/96", "::ffff:0:0/96"} <= set(scraper6["except"])
    metrics = policies["newsflow-allow-metrics-scrape"]["spec"]["ingress"][0]["ports"][0]
    assert (metrics["port"], metrics["endPort"]) == (min(STAGES.values()), max(STAGES.values()))


def test_overlays_differ_in_namespace_images_and_resources() -> None:
    dev, prod = render("dev"), render("prod")
    namespaces = {o: {d["metadata"].get("namespace") for d in docs if d["kind"] not in ("Namespace", "PriorityClass")} for o, docs in (("dev", dev), ("prod", prod))}
    assert namespaces == {"dev": {"newsflow-dev"}, "prod": {"newsflow"}}
    images = {o: {pod_spec(d)["containers"][0]["image"] for d in of_kind(docs, "Deployment").values()} for o, docs in (("dev", dev), ("prod", prod))}
    assert images["dev"] == {"newsflow:dev"}
    (prod_image,) = images["prod"]
    assert prod_image.endswith(":0.1.0") and "/" in prod_image
    dev_parser = pod_spec(of_kind(dev, "Deployment")["newsflow-parser"])["containers"][0]["resources"]
    prod_parser = pod_spec(of_kind(prod, "Deployment")["newsflow-parser"])["containers"][0]["resources"]
    assert dev_parser != prod_parser
    assert of_kind(prod, "Deployment")["newsflow-scraper"]["spec"]["replicas"] == 2

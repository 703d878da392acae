"""The Grafana dashboard and its provisioning: valid JSON, valid PromQL, wired to the compose mounts."""

from __future__ import annotations

import json

import yaml

from tests.deploy.conftest import DEPLOY, run, tool

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "newsflow.json"


def _dashboard() -> dict:  # type: ignore[type-arg]
    return json.loads(DASHBOARD.read_text())


def _grafana_to_promql(expr: str) -> str:
    """Substitute Grafana's variables the way Grafana does before sending a query."""
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
            .replace('=~"$stage"', '=~".*"').replace('=~"$source"', '=~".*"'))


def test_dashboard_is_well_formed() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "newsflow-pipeline"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert target["expr"].strip(), panel["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "stage", "source"} <= variables


def test_dashboard_covers_what_operators_need() -> None:
    exprs = " ".join(t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", []))
    for metric in (
        "newsflow_events_in_total", "newsflow_events_out_total",           # throughput per stage
        "newsflow_consumer_lag",                                            # lag per partition
        "newsflow_events_dead_lettered_total",                              # dead letters by stage/reason
        "newsflow_freshness_seconds_bucket",                                # freshness quantiles
        "newsflow_scraper_fetches_total",                                   # fetch outcomes by source/status
        "newsflow_scraper_last_success_timestamp_seconds",                  # last success per source
        "newsflow_parser_missing_ratio", "newsflow_parser_articles_total",  # extraction quality per source
        "newsflow_indexer_bulk_seconds_bucket", "newsflow_indexer_bulk_documents_bucket",  # bulk latency/size
        "newsflow_indexer_items_total",                                     # item outcomes
        "newsflow_event_loop_lag_seconds",                                  # event-loop lag
        "newsflow_ready",                                                   # readiness
    ):
        assert metric in exprs, metric


def test_every_dashboard_query_is_valid_promql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """promtool parses each query as the expression of a recording rule."""
    dashboard = _dashboard()
    rules = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId'].lower()}", "expr": _grafana_to_promql(target["expr"])})
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            # label_values(metric, label) is Grafana's; its metric part must still parse
            metric = variable["definition"].split("(", 1)[1].split(",", 1)[0]
            rules.append({"record": f"dashboard:variable_{variable['name']}", "expr": metric})
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_a_broken_query_would_be_caught(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (stage (rate(x[1m]))"}]}]}))
    assert run([tool("promtool"), "check", "rules", str(path)]).returncode != 0


def test_provisioning_matches_the_compose_mounts() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "newsflow.yml").read_text())["providers"][0]
    compose = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "../grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    default = _dashboard()["templating"]["list"][0]
    assert default["name"] == "datasource" and default["current"]["value"] == datasource["uid"]

"""Prometheus configuration, recording/alerting rules and their unit tests, checked by promtool."""

from __future__ import annotations

import re

import yaml

from tests.deploy.conftest import DEPLOY, REPO, run, tool

PROM = DEPLOY / "prometheus"
CONFIGS = ("prometheus.yml", "prometheus.k8s.yml")


def _rules() -> list[dict]:  # type: ignore[type-arg]
    data = yaml.safe_load((PROM / "rules.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def _alerts() -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["alert"]: r for r in _rules() if "alert" in r}


def test_promtool_accepts_both_configs() -> None:
    promtool = tool("promtool")
    for name in CONFIGS:
        result = run([promtool, "check", "config", str(PROM / name)])
        assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
        assert "rules.yml" not in result.stderr, result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(PROM / "rules.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_rules())} rules found" in result.stdout


def test_rule_unit_tests_pass() -> None:
    result = run([tool("promtool"), "test", "rules", str(PROM / "rules.test.yml")], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tests = yaml.safe_load((PROM / "rules.test.yml").read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(_alerts())
    assert alerts, "rules.yml defines no alerts"
    assert alerts - firing == set(), "alerts without a firing test case"
    assert alerts - silent == set(), "alerts without a not-firing test case"
    assert (firing | silent) - alerts == set(), "tests for alerts that rules.yml does not define"


def test_the_brief_s_alerts_exist() -> None:
    expected = {
        "NewsflowServiceDown", "NewsflowNotReady", "NewsflowStageStalled", "NewsflowConsumerLagGrowing",
        "NewsflowDeadLetterRateHigh", "NewsflowFreshnessSLOBreach", "NewsflowSourceSilent",
        "NewsflowElasticsearchRejections", "NewsflowIndexerPaused", "NewsflowParserLayoutDrift",
    }
    assert expected <= set(_alerts())


def test_every_alert_has_severity_summary_and_a_runbook_that_exists() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    anchors = {m.group(1).lower() for m in re.finditer(r"^#{2,4} +(Newsflow\w+)", operations, re.MULTILINE)}
    for name, rule in _alerts().items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"].get("summary"), name
        assert rule["annotations"].get("description"), name
        runbook = rule["annotations"]["runbook_url"]
        assert runbook == f"docs/operations.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/operations.md has no runbook section for {name}"

"""Every metric the alerts, recording rules, dashboard and autoscalers use is one the code exports.

A renamed metric would otherwise turn an alert into one that can never fire, and a
dashboard panel into an empty one, silently.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml

from tests.deploy.conftest import DEPLOY, REPO

IDENTIFIER = re.compile(r"(?<![\w:$])([a-zA-Z_:][a-zA-Z0-9_:]*)")
SUFFIXES = {"Counter": ("",), "Gauge": ("",), "Histogram": ("_bucket", "_sum", "_count"), "Summary": ("", "_sum", "_count")}


def exported_metrics() -> set[str]:
    """Sample names of every prometheus_client metric constructed in services/ (by reading the source)."""
    names: set[str] = set()
    for path in (REPO / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            first = node.args[0]
            if func in SUFFIXES and isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("newsflow_"):
                base = first.value
                if func == "Counter" and not base.endswith("_total"):
                    base += "_total"  # prometheus_client exposes counters with _total
                names.update(base + suffix for suffix in SUFFIXES[func])
    return names


def recording_rules() -> set[str]:
    data = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    return {r["record"] for g in data["groups"] for r in g["rules"] if "record" in r}


def referenced(expr: str) -> set[str]:
    """Metric-like identifiers of a PromQL expression that belong to newsflow."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values are not metric names
    return {m for m in IDENTIFIER.findall(expr) if m.startswith("newsflow") or ":newsflow" in m}


def rule_expressions() -> list[tuple[str, str]]:
    data = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    return [(r.get("alert") or r["record"], r["expr"]) for g in data["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "newsflow.json").read_text())
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    for variable in dashboard["templating"]["list"]:
        if variable.get("type") == "query":
            out.append((f"variable {variable['name']}", variable["definition"]))
    return out


def _check(expressions: list[tuple[str, str]]) -> list[str]:
    exported, recorded = exported_metrics(), recording_rules()
    problems = []
    for where, expr in expressions:
        for name in referenced(expr):
            if ":" in name:
                if name not in recorded:
                    problems.append(f"{where}: recording rule {name} is not defined in rules.yml")
            elif name not in exported:
                problems.append(f"{where}: {name} is not exported by any service")
    return problems


def test_the_code_exports_the_metrics_this_test_relies_on() -> None:
    exported = exported_metrics()
    for name in ("newsflow_events_in_total", "newsflow_freshness_seconds_bucket", "newsflow_ready",
                 "newsflow_scraper_last_success_timestamp_seconds", "newsflow_parser_missing_fields_total"):
        assert name in exported


def test_rules_only_use_exported_metrics() -> None:
    assert _check(rule_expressions()) == []


def test_dashboard_only_uses_exported_metrics_and_defined_recording_rules() -> None:
    expressions = dashboard_expressions()
    assert len(expressions) > 30
    assert _check(expressions) == []


def test_autoscaler_external_metrics_are_exported() -> None:
    exported = exported_metrics()
    for path in (DEPLOY / "k8s").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "HorizontalPodAutoscaler":
                for metric in doc["spec"].get("metrics", []):
                    if metric["type"] == "External":
                        assert metric["external"]["metric"]["name"] in exported, path


def test_a_misspelt_metric_is_caught() -> None:
    """The check itself works: an unknown name and an undefined recording rule are reported."""
    problems = _check([("probe", 'rate(newsflow_events_inn_total{stage="parser"}[5m]) + stage:newsflow_nothing:rate5m')])
    assert len(problems) == 2


def test_metric_labels_are_bounded() -> None:
    """No label that could take unbounded values (URLs, ids, titles) on any newsflow metric."""
    forbidden = {"url", "id", "article_id", "title", "trace_id", "path", "query", "message"}
    for path in (REPO / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and len(node.args) >= 3 and isinstance(node.args[2], (ast.List, ast.Tuple)):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("newsflow_"):
                    labels = {e.value for e in node.args[2].elts if isinstance(e, ast.Constant)}
                    assert not labels & forbidden, f"{Path(path).relative_to(REPO)}: {first.value} labels {labels}"

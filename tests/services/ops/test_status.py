"""`newsflow status`: the pure computation, from Prometheus text to the table and the JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from services.common.metrics import FRESHNESS_BUCKETS
from services.ops.status import (
    DEFAULT_PORTS,
    SERVICES,
    GroupLag,
    PartitionLag,
    Scrape,
    add_status_command,
    compute_status,
    consumed_topics,
    format_duration,
    group_id,
    histogram_quantile,
    parse_metrics,
    render_table,
    service_urls,
    status_json,
)

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


class Stage:
    """One replica's metrics, as the real service registers them (same names and labels)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter("newsflow_events_in_total", "", ["stage", "topic"], registry=r)
        self.events_out = Counter("newsflow_events_out_total", "", ["stage", "topic"], registry=r)
        self.dead = Counter("newsflow_events_dead_lettered_total", "", ["stage", "reason"], registry=r)
        self.lag = Gauge("newsflow_consumer_lag", "", ["stage", "topic", "partition"], registry=r)
        self.last = Gauge("newsflow_last_event_timestamp_seconds", "", ["stage"], registry=r)
        self.ready = Gauge("newsflow_ready", "", ["stage"], registry=r)
        self.freshness = Histogram("newsflow_freshness_seconds", "", buckets=FRESHNESS_BUCKETS, registry=r)
        self.paused = Gauge("newsflow_indexer_paused", "", registry=r)

    def scrape(self, at: float, *, url: str | None = None, live: bool = True, ready: bool = True) -> Scrape:
        samples = parse_metrics(generate_latest(self.registry).decode())
        return Scrape(self.stage, url or f"http://{self.stage}", at, samples, live=live, ready=ready)


def test_parse_metrics_reads_the_exposition_format() -> None:
    s = Stage("parser")
    s.events_in.labels("parser", "news.pages.raw.v1").inc(3)
    s.lag.labels("parser", "news.pages.raw.v1", "2").set(7)
    samples = parse_metrics(generate_latest(s.registry).decode())
    by_name = {(x.name, x.labels): x.value for x in samples}
    assert by_name[("newsflow_events_in_total", (("stage", "parser"), ("topic", "news.pages.raw.v1")))] == 3
    assert by_name[("newsflow_consumer_lag", (("partition", "2"), ("stage", "parser"), ("topic", "news.pages.raw.v1")))] == 7
    assert not any(x.name.endswith("_created") for x in samples)
    assert ("newsflow_freshness_seconds_bucket", (("le", "+Inf"),)) in by_name


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(1.0, 10), (2.0, 20), (float("inf"), 20)], 1.0),       # rank 10 lands on the first bound
        (0.75, [(1.0, 10), (2.0, 20), (float("inf"), 20)], 1.5),      # linear inside (1, 2]
        (0.5, [(1.0, 0), (10.0, 10), (float("inf"), 10)], 5.5),       # interpolated from the lower bound
        (0.99, [(1.0, 1), (5.0, 2), (float("inf"), 10)], 5.0),        # in +Inf: the largest finite bound
        (0.5, [(1.0, 0), (float("inf"), 0)], None),                   # no observations
        (0.5, [], None),
    ],
)
def test_histogram_quantile_follows_prometheus(q: float, buckets, expected) -> None:  # type: ignore[no-untyped-def]
    assert histogram_quantile(q, buckets) == expected


def test_rates_totals_dead_letters_and_freshness_over_a_window() -> None:
    parser = Stage("parser")
    indexer = Stage("indexer")
    for s in (parser, indexer):
        s.ready.labels(s.stage).set(1)
    parser.events_in.labels("parser", "news.pages.raw.v1").inc(100)
    parser.events_out.labels("parser", "news.articles.parsed.v1").inc(90)
    parser.dead.labels("parser", "not-an-article").inc(10)
    for value in (1, 2, 3):
        indexer.freshness.observe(value)
    before = {"parser": [parser.scrape(10.0)], "indexer": [indexer.scrape(10.0)]}

    parser.events_in.labels("parser", "news.pages.raw.v1").inc(40)
    parser.events_out.labels("parser", "news.articles.parsed.v1").inc(30)
    parser.dead.labels("parser", "not-an-article").inc(6)
    parser.dead.labels("parser", "empty-body").inc(4)
    parser.last.labels("parser").set(NOW.timestamp() - 42)
    for value in (400, 500):
        indexer.freshness.observe(value)
    after = {"parser": [parser.scrape(20.0)], "indexer": [indexer.scrape(20.0)]}

    status = compute_status(after, before, at=NOW)
    assert status.window_s == 10.0
    p = next(s for s in status.stages if s.stage == "parser")
    assert (p.events_in, p.in_per_s) == (140, 4.0)
    assert (p.events_out, p.out_per_s) == (120, 3.0)
    assert (p.dead_letters, p.dead_letters_per_s) == (20, 1.0)
    assert p.dead_letters_by_reason == {"empty-body": 4, "not-an-article": 16}
    assert p.last_event_age_s == pytest.approx(42)
    f = status.freshness
    assert f is not None and f.count == 5 and f.window_count == 2
    assert f.p50 == pytest.approx(histogram_quantile(0.5, [(1, 1), (2, 2), (5, 3), (300, 3), (600, 5), (float("inf"), 5)]))
    assert 300 < f.window_p50 <= 600  # type: ignore[operator]


def test_a_single_round_has_totals_but_no_rates() -> None:
    parser = Stage("parser")
    parser.events_in.labels("parser", "news.pages.raw.v1").inc(5)
    status = compute_status({"parser": [parser.scrape(1.0)]}, None, at=NOW)
    (p,) = status.stages
    assert p.events_in == 5 and p.in_per_s is None and status.window_s is None
    assert "no rates" in render_table(status)


def test_a_restarted_replica_counts_from_zero_not_negative() -> None:
    old, new = Stage("parser"), Stage("parser")
    old.events_in.labels("parser", "t").inc(1000)
    new.events_in.labels("parser", "t").inc(8)  # the process restarted: its counter is new
    status = compute_status({"parser": [new.scrape(12.0)]}, {"parser": [old.scrape(10.0)]}, at=NOW)
    assert status.stages[0].in_per_s == 4.0


def test_a_restarted_stage_keeps_its_input_count_from_the_committed_offsets() -> None:
    restarted = Stage("parser")
    restarted.events_in.labels("parser", "news.pages.raw.v1").inc(2)  # counted since the restart only
    kafka = GroupLag("parser", "newsflow-parser", [
        PartitionLag("news.pages.raw.v1", 0, committed=310, end=312, beginning=10),
        PartitionLag("news.pages.raw.v1", 1, committed=None, end=5, beginning=0),
    ])
    (p,) = compute_status({"parser": [restarted.scrape(1.0)]}, None, {"parser": kafka}, at=NOW).stages
    assert p.events_in == 300  # acknowledged within retention, whatever the process remembers
    (p,) = compute_status({"parser": [restarted.scrape(1.0)]}, None, {"parser": GroupLag("parser", "g", error="down")}, at=NOW).stages
    assert p.events_in == 2


def test_replicas_are_summed_and_every_one_must_be_ready() -> None:
    a, b = Stage("enrichment"), Stage("enrichment")
    a.events_in.labels("enrichment", "t").inc(10)
    b.events_in.labels("enrichment", "t").inc(20)
    before = {"enrichment": [a.scrape(0.0, url="http://a"), b.scrape(0.0, url="http://b")]}
    a.events_in.labels("enrichment", "t").inc(10)
    b.events_in.labels("enrichment", "t").inc(30)
    after = {"enrichment": [a.scrape(10.0, url="http://a"), b.scrape(10.0, url="http://b", ready=False)]}
    status = compute_status(after, before, at=NOW)
    (e,) = status.stages
    assert (e.replicas, e.reachable) == (2, 2)
    assert e.events_in == 70 and e.in_per_s == 4.0
    assert e.live and not e.ready
    assert not status.healthy


def test_an_unreachable_replica_is_reported_not_live() -> None:
    down = Scrape("indexer", "http://indexer:8104", 1.0, None, live=False, ready=False, error="unreachable (refused)")
    status = compute_status({"indexer": [down]}, None, at=NOW)
    (i,) = status.stages
    assert (i.reachable, i.live, i.ready, i.events_in) == (0, False, False, None)
    assert i.errors == ["http://indexer:8104: unreachable (refused)"]
    table = render_table(status)
    assert "UNHEALTHY" in table and "unreachable (refused)" in table


def test_lag_comes_from_kafka_and_falls_back_to_exported_lag() -> None:
    s = Stage("parser")
    s.lag.labels("parser", "news.pages.raw.v1", "0").set(3)
    s.lag.labels("parser", "newsflow-parser-x-changelog", "0").set(99)  # state restoration, not work
    scrapes = {"parser": [s.scrape(1.0)]}
    kafka = GroupLag("parser", "newsflow-parser", [
        PartitionLag("news.pages.raw.v1", 0, committed=10, end=15),
        PartitionLag("news.pages.raw.v1", 1, committed=None, end=7, beginning=2),   # never committed
        PartitionLag("news.pages.raw.v1", 2, committed=20, end=20),
    ])
    (p,) = compute_status(scrapes, None, {"parser": kafka}, at=NOW).stages
    assert (p.lag, p.lag_source) == (10, "kafka")
    assert p.lag_by_partition == {"news.pages.raw.v1": {0: 5, 1: 5, 2: 0}}

    failed = GroupLag("parser", "newsflow-parser", error="KafkaConnectionError")
    (p,) = compute_status(scrapes, None, {"parser": failed}, at=NOW).stages
    assert (p.lag, p.lag_source) == (3, "metrics")
    assert p.lag_by_partition == {"news.pages.raw.v1": {0: 3}}
    assert "kafka lag: KafkaConnectionError" in p.errors


def test_indexer_pause_shows_in_the_table() -> None:
    s = Stage("indexer")
    s.paused.set(1)
    status = compute_status({"indexer": [s.scrape(1.0, ready=False)]}, None, at=NOW)
    assert status.stages[0].paused is True
    assert "NO (paused)" in render_table(status)


def test_json_has_the_table_s_content_and_is_serialisable() -> None:
    s = Stage("parser")
    s.events_in.labels("parser", "t").inc(2)
    kafka = {"parser": GroupLag("parser", "g", [PartitionLag("t", 3, 1, 4)])}
    data = status_json(compute_status({"parser": [s.scrape(1.0)]}, None, kafka, at=NOW, kafka="k:9092"))
    text = json.dumps(data)
    assert json.loads(text)["stages"][0]["consumer_lag_by_partition"] == {"t": {"3": 3}}
    assert data["healthy"] is True and data["kafka"] == "k:9092" and data["at"] == NOW.isoformat()
    assert data["stages"][0]["events_in_total"] == 1  # acknowledged, from the committed offset (Kafka was asked)
    assert data["freshness_seconds"] is None, "freshness comes from the indexer, which was not scraped"


def test_render_table_lists_every_stage_in_pipeline_order() -> None:
    current = {name: [Stage(name).scrape(1.0)] for name in reversed(SERVICES)}
    lines = render_table(compute_status(current, None, at=NOW)).splitlines()
    rows = [line.split()[0] for line in lines if line.split() and line.split()[0] in SERVICES]
    assert rows[:4] == list(SERVICES)


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (0.25, "250ms"), (4.25, "4.2s"), (125, "2m05s"), (7300, "2h01m"), (172800, "2.0d")])
def test_format_duration(seconds, text) -> None:  # type: ignore[no-untyped-def]
    assert format_duration(seconds) == text


def test_group_ids_are_the_services_own() -> None:
    from services.common.app import app_id
    from services.common.settings import KafkaSettings, ServiceSettings

    for namespace in ("", "e1234"):
        for override in (None, "newsflow-parser-replay-2"):
            settings = ServiceSettings(group_id=override, kafka=KafkaSettings(topic_namespace=namespace))
            assert group_id("parser", namespace, override) == app_id("parser", settings)


def test_consumed_topics_follow_the_catalogue() -> None:
    assert consumed_topics("scraper") == ["news.crawl.requests.v1", "news.crawl.frontier.v1"]
    assert consumed_topics("parser", "ns") == ["ns.news.pages.raw.v1"]
    assert consumed_topics("enrichment") == ["news.articles.parsed.v1", "news.enrichment.stories.v1"]  # + the story step
    assert consumed_topics("indexer") == ["news.articles.enriched.v1"]


def test_service_urls_precedence() -> None:
    env = {"NEWSFLOW_PARSER_HTTP_PORT": "9102", "NEWSFLOW_STATUS_INDEXER_URL": "http://a:1, http://b:1/"}
    urls = service_urls({"scraper": "http://s:8101"}, env)
    assert urls == {
        "scraper": ["http://s:8101"],
        "parser": ["http://127.0.0.1:9102"],
        "enrichment": ["http://127.0.0.1:8103"],
        "indexer": ["http://a:1", "http://b:1"],
    }


def test_cli_registers_status() -> None:
    from services.cli import build_parser

    args = build_parser().parse_args(["status", "--watch", "2", "--json", "--parser", "http://p:1", "--namespace", "x"])
    assert (args.command, args.watch, args.json, args.parser, args.namespace) == ("status", 2.0, True, "http://p:1", "x")

    import argparse

    sub = argparse.ArgumentParser().add_subparsers()
    assert add_status_command(sub).prog.endswith("status")


def test_the_window_counts_only_rounds_where_both_scrapes_answered() -> None:
    ok, slow = Stage("parser"), Stage("enrichment")
    before = {"parser": [ok.scrape(0.0)], "enrichment": [Scrape("enrichment", "http://enrichment", 0.0, None, error="timeout")]}
    after = {"parser": [ok.scrape(5.0)], "enrichment": [slow.scrape(9.0)]}
    status = compute_status(after, before, at=NOW)
    assert status.window_s == 5.0
    assert next(s for s in status.stages if s.stage == "enrichment").in_per_s is None

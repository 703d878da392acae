"""`newsflow status`: one screen that says whether the pipeline is healthy, and where it is not.

    newsflow status                       one snapshot (two metric scrapes `--window` seconds apart)
    newsflow status --watch 5             redraw every 5 s (rates over the last 5 s)
    newsflow status --json                machine-readable, same content

Per stage: live/ready (the services' /livez and /readyz), throughput in and out
(events/s between two scrapes of /metrics), dead letters (total, rate, by reason),
consumer lag from Kafka itself (the committed offsets of the stage's consumer group
against the partitions' end offsets; falls back to the lag the services export
when Kafka cannot be asked), the age of the last handled event, and end-to-end
freshness (p50/p95 of the indexer's `newsflow_freshness_seconds`).

Where to look: each service's base URL defaults to http://127.0.0.1:<port> with the
port from NEWSFLOW_<SERVICE>_HTTP_PORT (default 8101..8104); override it with
`--scraper URL` (etc.) or NEWSFLOW_STATUS_<SERVICE>_URL. Several replicas: give a
comma-separated list of URLs; counters are summed, a stage is ready only when
every replica is. Kafka comes from NEWSFLOW_KAFKA_* (`--bootstrap`, `--namespace`
override); consumer groups are `newsflow-<service>` (NEWSFLOW_<SERVICE>_GROUP_ID
overrides), prefixed by `<namespace>.` when a topic namespace is set.

Exit status: 0 when every stage is live and ready, 1 otherwise (usable in scripts).

The computation is pure (`compute_status`, `render_table`, `status_json` over parsed
`Scrape`s and `GroupLag`s); the I/O around it (`scrape`, `kafka_lag`, `run`) is thin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from services.common.service_catalogue import DEFAULT_PORTS, group_id
from services.common.service_catalogue import SERVICE_NAMES as SERVICES

DEFAULT_WINDOW = 3.0
CLEAR_SCREEN = "\x1b[2J\x1b[H"

Labels = tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- parsed inputs


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Labels
    value: float

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


@dataclass
class Scrape:
    """What one replica of one service answered at one moment (all None when unreachable)."""

    service: str
    url: str
    at: float
    """Monotonic seconds when /metrics was read."""
    samples: list[Sample] | None = None
    live: bool | None = None
    ready: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    """None when the group never committed on this partition."""
    end: int
    beginning: int = 0

    @property
    def lag(self) -> int:
        start = self.committed if self.committed is not None else self.beginning
        return max(0, self.end - start)

    @property
    def acknowledged(self) -> int:
        """Events the group acknowledged on this partition, within the topic's retention."""
        return max(0, (self.committed if self.committed is not None else self.beginning) - self.beginning)


@dataclass
class GroupLag:
    service: str
    group: str
    partitions: list[PartitionLag] = field(default_factory=list)
    error: str | None = None

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def acknowledged(self) -> int:
        return sum(p.acknowledged for p in self.partitions)


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text exposition → samples (`_created` series and non-finite garbage dropped)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: list[Sample] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            samples.append(Sample(s.name, tuple(sorted(s.labels.items())), float(s.value)))
    return samples


def consumed_topics(service: str, namespace: str = "") -> list[str]:
    """Catalogue topics the service's consumer group reads: consumers named `service` or
    `service (step)` (the enrichment's story step reads news.enrichment.stories.v1 in the same group)."""
    from schemas.topics import CATALOGUE, topic_name

    return [
        topic_name(spec, namespace)
        for spec in CATALOGUE
        if any(c == service or c.startswith(f"{service} (") for c in spec.consumers)
    ]


# --------------------------------------------------------------------------- pure computation


def _select(samples: Iterable[Sample], name: str, **match: str) -> list[Sample]:
    return [s for s in samples if s.name == name and all(s.label(k) == v for k, v in match.items())]


def _sum(samples: Iterable[Sample], name: str, **match: str) -> float:
    return sum(s.value for s in _select(samples, name, **match))


def _counter_increase(before: float, after: float) -> float:
    """Increase of a counter between two readings; a drop means the process restarted."""
    return after if after < before else after - before


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over cumulative (upper bound, count) buckets.

    Linear interpolation inside the bucket; a quantile that lands in the +Inf
    bucket returns the largest finite bound. None when there are no observations.
    """
    if not buckets:
        return None
    ordered = sorted(buckets)
    total = ordered[-1][1]
    if total <= 0 or not math.isinf(ordered[-1][0]):
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return ordered[-2][0] if len(ordered) > 1 else None


def histogram_buckets(samples: Iterable[Sample], name: str) -> dict[float, float]:
    """{upper bound: cumulative count} of one (label-less or summed) histogram."""
    out: dict[float, float] = {}
    for s in _select(samples, f"{name}_bucket"):
        le = s.label("le")
        if le is None:
            continue
        bound = float("inf") if le in ("+Inf", "Inf") else float(le)
        out[bound] = out.get(bound, 0.0) + s.value
    return out


def _bucket_increase(before: Mapping[float, float], after: Mapping[float, float]) -> dict[float, float]:
    if after.get(float("inf"), 0.0) < before.get(float("inf"), 0.0):
        return dict(after)  # restarted: everything after the restart is new
    return {le: max(0.0, count - before.get(le, 0.0)) for le, count in after.items()}


@dataclass
class Freshness:
    count: int
    p50: float | None
    p95: float | None
    window_count: int = 0
    window_p50: float | None = None
    window_p95: float | None = None


@dataclass
class StageStatus:
    stage: str
    replicas: int
    reachable: int
    live: bool
    ready: bool
    events_in: float | None
    events_out: float | None
    in_per_s: float | None
    out_per_s: float | None
    dead_letters: float | None
    dead_letters_per_s: float | None
    dead_letters_by_reason: dict[str, float]
    lag: int | None
    lag_source: str | None
    """"kafka" (committed offsets), "metrics" (what the service exports) or None. With "kafka",
    `events_in` is the input the group acknowledged (committed offsets, within retention: it
    survives restarts); otherwise `events_in`, like `events_out` and `dead_letters`, counts
    since the service started."""
    lag_by_partition: dict[str, dict[int, int]]
    """{topic: {partition: lag}}"""
    last_event_age_s: float | None
    errors: list[str]
    paused: bool | None = None


@dataclass
class PipelineStatus:
    at: datetime
    window_s: float | None
    stages: list[StageStatus]
    freshness: Freshness | None
    kafka: str | None
    kafka_error: str | None = None

    @property
    def healthy(self) -> bool:
        return all(s.live and s.ready for s in self.stages)


def _pair(before: Sequence[Scrape] | None, after: Sequence[Scrape]) -> list[tuple[Scrape | None, Scrape]]:
    by_url = {s.url: s for s in before or ()}
    return [(by_url.get(s.url), s) for s in after]


def _rate(pairs: list[tuple[Scrape | None, Scrape]], name: str) -> tuple[float | None, float | None]:
    """(total now, per-second increase) of a counter summed over replicas."""
    total: float | None = None
    increase = 0.0
    seconds: list[float] = []
    for before, after in pairs:
        if after.samples is None:
            continue
        now = _sum(after.samples, name)
        total = (total or 0.0) + now
        if before is not None and before.samples is not None and after.at > before.at:
            increase += _counter_increase(_sum(before.samples, name), now)
            seconds.append(after.at - before.at)
    if not seconds:
        return total, None
    return total, increase / (sum(seconds) / len(seconds))


def _exported_lag(scrapes: Sequence[Scrape]) -> tuple[int | None, dict[str, dict[int, int]]]:
    """Lag per partition as the replicas export it (changelogs skipped; the max when two report one)."""
    by_partition: dict[str, dict[int, int]] = {}
    for scrape in scrapes:
        for s in _select(scrape.samples or [], "newsflow_consumer_lag"):
            topic = s.label("topic") or ""
            if topic.endswith("-changelog"):
                continue
            partition = int(s.label("partition") or 0)
            per_topic = by_partition.setdefault(topic, {})
            per_topic[partition] = max(per_topic.get(partition, 0), int(s.value))
    if not by_partition:
        return None, {}
    return sum(v for t in by_partition.values() for v in t.values()), by_partition


def stage_status(
    stage: str,
    current: Sequence[Scrape],
    previous: Sequence[Scrape] | None,
    lag: GroupLag | None,
    wall_now: float,
) -> StageStatus:
    """One stage's row from its replicas' scrapes (now and one window ago) and its group's lag."""
    pairs = _pair(previous, current)
    reachable = [s for s in current if s.samples is not None]
    errors = [f"{s.url}: {s.error}" for s in current if s.error]
    events_in, in_rate = _rate(pairs, "newsflow_events_in_total")
    events_out, out_rate = _rate(pairs, "newsflow_events_out_total")
    dead, dead_rate = _rate(pairs, "newsflow_events_dead_lettered_total")
    reasons: dict[str, float] = {}
    last_event: float | None = None
    paused: bool | None = None
    for scrape in reachable:
        assert scrape.samples is not None
        for s in _select(scrape.samples, "newsflow_events_dead_lettered_total"):
            reason = s.label("reason") or "?"
            reasons[reason] = reasons.get(reason, 0.0) + s.value
        for s in _select(scrape.samples, "newsflow_last_event_timestamp_seconds"):
            if s.value > 0:
                last_event = max(last_event or 0.0, s.value)
        for s in _select(scrape.samples, "newsflow_indexer_paused"):
            paused = bool(paused) or s.value >= 1
    if lag is not None and lag.error is None:
        total: int | None = lag.total
        source: str | None = "kafka"
        # Durable: what the group committed survives restarts, which the service's counters do not.
        events_in = float(lag.acknowledged)
        by_partition: dict[str, dict[int, int]] = {}
        for p in lag.partitions:
            by_partition.setdefault(p.topic, {})[p.partition] = p.lag
    else:
        total, by_partition = _exported_lag(reachable)
        source = "metrics" if total is not None else None
        if lag is not None and lag.error:
            errors.append(f"kafka lag: {lag.error}")
    return StageStatus(
        stage=stage,
        replicas=len(current),
        reachable=len(reachable),
        live=bool(current) and all(s.live for s in current),
        ready=bool(current) and all(s.ready for s in current),
        events_in=events_in,
        events_out=events_out,
        in_per_s=in_rate,
        out_per_s=out_rate,
        dead_letters=dead,
        dead_letters_per_s=dead_rate,
        dead_letters_by_reason=dict(sorted(reasons.items())),
        lag=total,
        lag_source=source,
        lag_by_partition={t: dict(sorted(parts.items())) for t, parts in sorted(by_partition.items())},
        last_event_age_s=max(0.0, wall_now - last_event) if last_event else None,
        errors=errors,
        paused=paused,
    )


def freshness(current: Sequence[Scrape], previous: Sequence[Scrape] | None) -> Freshness | None:
    """p50/p95 of end-to-end freshness since the indexers started, and over the window."""
    now: dict[float, float] = {}
    window: dict[float, float] = {}
    seen = False
    for before, after in _pair(previous, current):
        if after.samples is None:
            continue
        buckets = histogram_buckets(after.samples, "newsflow_freshness_seconds")
        if not buckets:
            continue
        seen = True
        for le, c in buckets.items():
            now[le] = now.get(le, 0.0) + c
        if before is not None and before.samples is not None:
            for le, c in _bucket_increase(histogram_buckets(before.samples, "newsflow_freshness_seconds"), buckets).items():
                window[le] = window.get(le, 0.0) + c
    if not seen:
        return None
    items, recent = sorted(now.items()), sorted(window.items())
    return Freshness(
        count=int(now.get(float("inf"), 0)),
        p50=histogram_quantile(0.5, items),
        p95=histogram_quantile(0.95, items),
        window_count=int(window.get(float("inf"), 0)),
        window_p50=histogram_quantile(0.5, recent),
        window_p95=histogram_quantile(0.95, recent),
    )


def compute_status(
    current: Mapping[str, Sequence[Scrape]],
    previous: Mapping[str, Sequence[Scrape]] | None = None,
    lags: Mapping[str, GroupLag] | None = None,
    *,
    at: datetime | None = None,
    kafka: str | None = None,
    kafka_error: str | None = None,
) -> PipelineStatus:
    """The whole table from two rounds of scrapes (`previous` may be None: no rates) and Kafka's lag."""
    at = at or datetime.now(timezone.utc)
    windows = [
        a.at - b.at
        for service, scrapes in current.items()
        for b, a in _pair((previous or {}).get(service), scrapes)
        if b is not None and b.samples is not None and a.samples is not None and a.at > b.at
    ]
    stages = [
        stage_status(service, current.get(service, ()), (previous or {}).get(service), (lags or {}).get(service), at.timestamp())
        for service in SERVICES
        if service in current
    ]
    return PipelineStatus(
        at=at,
        window_s=(sum(windows) / len(windows)) if windows else None,
        stages=stages,
        freshness=freshness(current.get("indexer", ()), (previous or {}).get("indexer")),
        kafka=kafka,
        kafka_error=kafka_error,
    )


# --------------------------------------------------------------------------- rendering


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{int(value):,}"


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m{int(seconds) % 60:02d}s"
    if seconds < 86400:
        return f"{seconds / 3600:.0f}h{int(seconds / 60) % 60:02d}m"
    return f"{seconds / 86400:.1f}d"


def _table(rows: list[list[str]], headers: list[str], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render_table(status: PipelineStatus) -> str:
    """The human view: one row per stage, then freshness, lag per partition and dead-letter reasons."""
    window = f"rates over {status.window_s:.1f}s" if status.window_s else "no rates (single scrape)"
    head = f"newsflow status  {status.at:%Y-%m-%d %H:%M:%S} UTC  {window}"
    if status.kafka:
        head += f"  kafka {status.kafka}"
    rows = []
    for s in status.stages:
        lag = _count(s.lag) + ("*" if s.lag_source == "metrics" else "")
        rows.append([
            s.stage,
            f"{s.reachable}/{s.replicas}",
            _yes(s.live),
            _yes(s.ready) + (" (paused)" if s.paused else ""),
            _num(s.in_per_s, 2),
            _num(s.out_per_s, 2),
            _count(s.events_in),
            _count(s.events_out),
            _count(s.dead_letters),
            _num(s.dead_letters_per_s, 2),
            lag,
            format_duration(s.last_event_age_s) + (" ago" if s.last_event_age_s is not None else ""),
        ])
    headers = ["stage", "up", "live", "ready", "in/s", "out/s", "in", "out", "dead", "dead/s", "lag", "last event"]
    lines = [head, "", *_table(rows, headers, right={4, 5, 6, 7, 8, 9, 10})]
    if any(s.lag_source == "metrics" for s in status.stages):
        lines.append("* lag as exported by the service (Kafka could not be asked)")
    lines.append("")
    f = status.freshness
    if f is None:
        lines.append("freshness (fetch -> searchable): no indexer metrics")
    elif f.count == 0:
        lines.append("freshness (fetch -> searchable): no article indexed since the indexer started")
    else:
        text = f"freshness (fetch -> searchable): p50 {format_duration(f.p50)}  p95 {format_duration(f.p95)}  over {f.count:,} article(s) since start"
        if f.window_count:
            text += f"; last window p50 {format_duration(f.window_p50)}  p95 {format_duration(f.window_p95)} ({f.window_count:,})"
        lines.append(text)
    width = max((len(s.stage) for s in status.stages), default=0)
    topic_width = max((len(t) for s in status.stages for t in s.lag_by_partition), default=0)
    for s in status.stages:
        for topic, parts in s.lag_by_partition.items():
            cells = "  ".join(f"[{p}] {lag:,}" for p, lag in parts.items())
            lines.append(f"lag {s.stage.ljust(width)}  {topic.ljust(topic_width)}  {cells}")
    for s in status.stages:
        if s.dead_letters_by_reason:
            reasons = ", ".join(f"{r} {int(n):,}" for r, n in s.dead_letters_by_reason.items())
            lines.append(f"dead letters {s.stage}: {reasons}")
    problems = [f"{s.stage}: {e}" for s in status.stages for e in s.errors]
    if status.kafka_error:
        problems.insert(0, f"kafka: {status.kafka_error}")
    if problems:
        lines += ["", "problems:", *(f"  {p}" for p in problems)]
    lines += ["", "healthy: every stage is live and ready" if status.healthy else "UNHEALTHY: a stage is down, not live or not ready"]
    return "\n".join(lines)


def status_json(status: PipelineStatus) -> dict[str, Any]:
    """The machine view: everything the table shows, in plain JSON types (None → null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    stages = []
    for s in status.stages:
        stages.append({
            "stage": s.stage,
            "replicas": s.replicas,
            "reachable": s.reachable,
            "live": s.live,
            "ready": s.ready,
            "paused": s.paused,
            "events_in_total": clean(s.events_in),
            "events_out_total": clean(s.events_out),
            "events_in_per_second": clean(s.in_per_s),
            "events_out_per_second": clean(s.out_per_s),
            "dead_letters_total": clean(s.dead_letters),
            "dead_letters_per_second": clean(s.dead_letters_per_s),
            "dead_letters_by_reason": s.dead_letters_by_reason,
            "consumer_lag": s.lag,
            "consumer_lag_source": s.lag_source,
            "consumer_lag_by_partition": {t: {str(p): v for p, v in parts.items()} for t, parts in s.lag_by_partition.items()},
            "last_event_age_seconds": clean(s.last_event_age_s),
            "errors": s.errors,
        })
    f = status.freshness
    return {
        "at": status.at.isoformat(),
        "window_seconds": status.window_s,
        "kafka": status.kafka,
        "kafka_error": status.kafka_error,
        "healthy": status.healthy,
        "stages": stages,
        "freshness_seconds": None if f is None else {
            "count": f.count, "p50": clean(f.p50), "p95": clean(f.p95),
            "window_count": f.window_count, "window_p50": clean(f.window_p50), "window_p95": clean(f.window_p95),
        },
    }


# --------------------------------------------------------------------------- I/O


def service_urls(args_urls: Mapping[str, str | None], environ: Mapping[str, str] = os.environ) -> dict[str, list[str]]:
    """Base URLs per service: flag, else NEWSFLOW_STATUS_<SERVICE>_URL, else 127.0.0.1:<its port setting>."""
    urls: dict[str, list[str]] = {}
    for service in SERVICES:
        value = args_urls.get(service) or environ.get(f"NEWSFLOW_STATUS_{service.upper()}_URL")
        if not value:
            port = environ.get(f"NEWSFLOW_{service.upper()}_HTTP_PORT") or str(DEFAULT_PORTS[service])
            value = f"http://127.0.0.1:{port}"
        urls[service] = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
    return urls


async def scrape(session: Any, service: str, base: str, timeout: float = 3.0) -> Scrape:
    """Read /metrics, /livez and /readyz of one replica; never raises."""
    import aiohttp

    result = Scrape(service=service, url=base, at=time.monotonic())
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def status_of(path: str) -> bool | None:
        try:
            async with session.get(base + path, timeout=client_timeout) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None

    try:
        async with session.get(base + "/metrics", timeout=client_timeout) as resp:
            text = await resp.text()
            result.at = time.monotonic()
            if resp.status != 200:
                result.error = f"/metrics answered {resp.status}"
            else:
                result.samples = parse_metrics(text)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        result.error = f"unreachable ({type(exc).__name__}: {exc})".strip()
    live, ready = await asyncio.gather(status_of("/livez"), status_of("/readyz"))
    result.live, result.ready = bool(live), bool(ready)
    return result


async def scrape_all(urls: Mapping[str, Sequence[str]], timeout: float = 3.0) -> dict[str, list[Scrape]]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        jobs = [(service, scrape(session, service, url, timeout)) for service, group in urls.items() for url in group]
        results = await asyncio.gather(*(job for _, job in jobs))
    out: dict[str, list[Scrape]] = {service: [] for service in urls}
    for (service, _), result in zip(jobs, results):
        out[service].append(result)
    return out


async def kafka_lag(kafka: Any, services: Sequence[str] = SERVICES, *, group_overrides: Mapping[str, str | None] | None = None,
                    timeout: float = 10.0) -> dict[str, GroupLag]:
    """Committed offsets of each service's consumer group against end offsets, per input partition.

    Raises on connection failure (the caller reports it and falls back to exported lag).
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    namespace = kafka.topic_namespace
    admin = AIOKafkaAdminClient(**kafka.aiokafka_kwargs(), request_timeout_ms=int(timeout * 1000))
    consumer = AIOKafkaConsumer(**kafka.aiokafka_kwargs(), group_id=None, enable_auto_commit=False,
                                request_timeout_ms=int(timeout * 1000))
    await asyncio.wait_for(admin.start(), timeout)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        try:
            wanted = {t for service in services for t in consumed_topics(service, namespace)}
            existing = set(await asyncio.wait_for(admin.list_topics(), timeout)) & wanted
            described = await asyncio.wait_for(admin.describe_topics(sorted(existing)), timeout) if existing else []
            partitions = {d["topic"]: sorted(p["partition"] for p in d["partitions"]) for d in described}
            result: dict[str, GroupLag] = {}
            for service in services:
                group = group_id(service, namespace, (group_overrides or {}).get(service))
                report = GroupLag(service, group)
                result[service] = report
                tps = [
                    TopicPartition(topic, p)
                    for topic in consumed_topics(service, namespace)
                    for p in partitions.get(topic, ())
                ]
                if not tps:
                    report.error = "its input topics do not exist yet"
                    continue
                try:
                    committed = await asyncio.wait_for(admin.list_consumer_group_offsets(group, partitions=tps), timeout)
                    end = await asyncio.wait_for(consumer.end_offsets(tps), timeout)
                    begin = await asyncio.wait_for(consumer.beginning_offsets(tps), timeout)
                except Exception as exc:  # noqa: BLE001 - one group's failure must not hide the others
                    report.error = f"{type(exc).__name__}: {exc}"
                    continue
                for tp in tps:
                    meta = committed.get(tp)
                    offset = meta.offset if meta is not None and meta.offset is not None and meta.offset >= 0 else None
                    report.partitions.append(PartitionLag(tp.topic, tp.partition, offset, end.get(tp, 0), begin.get(tp, 0)))
            return result
        finally:
            await consumer.stop()
    finally:
        await admin.close()


@dataclass
class Options:
    urls: dict[str, list[str]]
    kafka: Any
    group_overrides: dict[str, str | None]
    window: float
    timeout: float
    use_kafka: bool = True


async def collect(options: Options, previous: dict[str, list[Scrape]] | None) -> tuple[PipelineStatus, dict[str, list[Scrape]]]:
    """One refresh: scrape every replica and ask Kafka. Rates need a previous round: without
    one, scrape twice `window` seconds apart (window 0: a single scrape, totals only)."""
    if previous is None and options.window > 0:
        previous = await scrape_all(options.urls, options.timeout)
        await asyncio.sleep(options.window)
    lag_task = None
    if options.use_kafka:
        lag_task = asyncio.ensure_future(
            kafka_lag(options.kafka, tuple(options.urls), group_overrides=options.group_overrides, timeout=options.timeout)
        )
    current = await scrape_all(options.urls, options.timeout)
    lags: dict[str, GroupLag] | None = None
    kafka_error: str | None = None
    if lag_task is not None:
        try:
            lags = await asyncio.wait_for(lag_task, options.timeout * 3)
        except Exception as exc:  # noqa: BLE001 - Kafka down: show the rest, say so
            kafka_error = f"cannot read consumer offsets ({type(exc).__name__}: {exc})"
    status = compute_status(
        current, previous, lags,
        kafka=options.kafka.bootstrap if options.use_kafka else None, kafka_error=kafka_error,
    )
    return status, current


async def run(options: Options, *, as_json: bool, watch: float | None, out: Any = sys.stdout) -> int:
    if watch is None:
        status, _ = await collect(options, None)
        out.write((json.dumps(status_json(status), indent=2, ensure_ascii=False) if as_json else render_table(status)) + "\n")
        return 0 if status.healthy else 1
    previous: dict[str, list[Scrape]] | None = None
    while True:
        started = time.monotonic()
        status, previous = await collect(options, previous)
        if as_json:
            out.write(json.dumps(status_json(status), ensure_ascii=False) + "\n")
        else:
            out.write(CLEAR_SCREEN + render_table(status) + f"\n\n(refreshing every {watch:g}s; Ctrl-C to stop)\n")
        out.flush()
        await asyncio.sleep(max(0.0, watch - (time.monotonic() - started)))


def cmd_status(args: argparse.Namespace) -> int:
    from services.common.settings import KafkaSettings

    overrides: dict[str, Any] = {}
    if args.bootstrap:
        overrides["bootstrap"] = args.bootstrap
    if args.namespace is not None:
        overrides["topic_namespace"] = args.namespace
    kafka = KafkaSettings(**overrides)
    urls = service_urls({s: getattr(args, s) for s in SERVICES})
    if args.stage:
        urls = {s: u for s, u in urls.items() if s in args.stage}
    options = Options(
        urls=urls,
        kafka=kafka,
        group_overrides={s: os.environ.get(f"NEWSFLOW_{s.upper()}_GROUP_ID") or None for s in SERVICES},
        window=args.window if args.watch is None else 0.0,
        timeout=args.timeout,
        use_kafka=not args.no_kafka,
    )
    try:
        return asyncio.run(run(options, as_json=args.json, watch=args.watch))
    except KeyboardInterrupt:
        return 0


def add_status_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `newsflow status` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "status", help="per-stage health, throughput, lag, dead letters and freshness",
        description="Per-stage health, throughput, consumer lag, dead letters and freshness of a running pipeline.",
    )
    p.add_argument("--watch", type=float, metavar="SECONDS", help="redraw every SECONDS (rates over that window)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table (one object per refresh with --watch)")
    p.add_argument("--window", type=float, default=DEFAULT_WINDOW,
                   help=f"seconds between the two scrapes a one-shot rate is computed from (default {DEFAULT_WINDOW:g})")
    p.add_argument("--stage", action="append", choices=SERVICES, help="only this stage (repeatable)")
    for service in SERVICES:
        p.add_argument(f"--{service}", metavar="URL[,URL...]",
                       help=f"base URL(s) of the {service}'s HTTP endpoint "
                            f"(default NEWSFLOW_STATUS_{service.upper()}_URL or http://127.0.0.1:{DEFAULT_PORTS[service]})")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default NEWSFLOW_KAFKA_BOOTSTRAP)")
    p.add_argument("--namespace", help="topic namespace (default NEWSFLOW_KAFKA_TOPIC_NAMESPACE)")
    p.add_argument("--no-kafka", action="store_true", help="do not ask Kafka; show the lag the services export")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per HTTP/Kafka request (default 3)")
    p.set_defaults(func=cmd_status)
    return p

"""`make chaos`: the whole pipeline under faults, and a checker that counts what must be there.

    python -m bench.chaos                           # 2,000 articles, 20 faults, three Kafka brokers
    python -m bench.chaos --articles 300 --faults 8 --seed 7 --brokers 1

It starts its own Kafka (three KRaft brokers unless `--brokers 1`) and Elasticsearch (instance
"chaos", ports 28092/28093 (+10, +20 for the other brokers) and 28200/28300; NEWSFLOW_CHAOS_*
move them), the four services in a fresh namespace, and produces the raw pages of N articles
to news.pages.raw.v1 as the scraper would publish them (bench/bench_e2e.py's corpus, only pages
the parser accepts), plus a newer version of some of them, an older replay of some, and a few
events that are not raw pages at all (the expected dead letters).

While the pipeline works through them, a driver does the planned faults at random moments
(seeded RNG, the seed is printed; bounded by `--faults` and `--window` seconds):

- kill-service: `kill -9` of a random service, started again a second later;
- kill-worker: `kill -9` of one of the enrichment's model worker processes;
- es-outage: Elasticsearch stopped for `--es-outage` seconds, then started;
- kill-broker: one Kafka broker killed with -9, started again after a few seconds;
- second-instance: a second process of a random stage joins its group, and leaves gracefully
  20–40 s later (two rebalances);
- rollover: the write index is rolled over (the indexer's location lookup races it).

Then it waits for the pipeline to settle and checks: Elasticsearch holds exactly the expected
article ids, each once behind the read alias (every index searched), each at its newest
version; the dead-letter topic holds exactly the expected rejections; every consumer group has
committed its input up to the end (lag 0). It prints a table, writes
bench/results/chaos-<time>.md and exits 1 on any loss, duplicate, stale version, unexpected
dead letter or uncommitted input. tests/e2e/test_chaos.py runs a short version.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from devtools.devstack.pipeline import SERVICES, Pipeline, free_port
from devtools.devstack.processes import ManagedProcess, stop_all
from devtools.devstack.stack import Elasticsearch, Kafka, Stack, StackConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

FAULT_KINDS = ("kill-service", "kill-worker", "es-outage", "kill-broker", "second-instance", "rollover")
CHAOS_PORTS = {"kafka_port": 28092, "kafka_controller_port": 28093, "es_port": 28200, "es_transport_port": 28300}
BAD_EVENT_KEY = "chaos-bad-"


# --------------------------------------------------------------------------- the plan (pure)


@dataclass(frozen=True)
class PlannedFault:
    at: float
    """Seconds after the start of the run."""
    kind: str


def plan_faults(seed: int, count: int, window: float, kinds: tuple[str, ...] = FAULT_KINDS, start: float = 10.0) -> list[PlannedFault]:
    """`count` faults at random moments in [start, window): every kind at least once (when
    `count` allows), the rest kills of services and workers. Same seed, same plan."""
    if count < 1 or window <= start:
        raise ValueError("need at least one fault and a window longer than its start")
    rng = random.Random(seed)
    chosen = list(kinds[:count])
    kills = [k for k in kinds if k in ("kill-service", "kill-worker")] or list(kinds)
    chosen += [rng.choice(kills) for _ in range(count - len(chosen))]
    rng.shuffle(chosen)
    moments = sorted(rng.uniform(start, window) for _ in chosen)
    return [PlannedFault(round(at, 1), kind) for at, kind in zip(moments, chosen)]


@dataclass
class Expected:
    """What the run produced: the newest fetch time per article id, and the keys of bad events."""

    newest: dict[str, datetime] = field(default_factory=dict)
    bad_keys: set[str] = field(default_factory=set)


@dataclass
class Verdict:
    expected: int
    indexed: int
    lost: list[str]
    duplicated: list[str]
    stale: list[str]
    unexpected_docs: int
    expected_rejections: int
    rejections_found: int
    unexpected_dead_letters: list[str]
    dead_letter_copies: int
    """Expected rejections written more than once (at-least-once: a kill after the dead letter, before the commit)."""
    uncommitted: dict[str, int]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.stale or self.unexpected_docs or self.unexpected_dead_letters
                    or self.rejections_found < self.expected_rejections or any(self.uncommitted.values()))


def judge(expected: Expected, hits: list[tuple[str, str]], total_docs: int, letters: list[dict[str, Any]],
          lag: dict[str, int]) -> Verdict:
    """Compare what Elasticsearch and the dead-letter topic hold with what was produced.

    `hits`: (article id, fetched_at) of every document behind the read alias that has an
    expected id (one per copy, whichever index it is in); `total_docs`: all documents behind
    the alias; `letters`: the dead-letter records (as JSON); `lag`: uncommitted messages per
    consumer group and topic.
    """
    copies = Counter(aid for aid, _ in hits)
    lost = sorted(set(expected.newest) - set(copies))
    duplicated = sorted(aid for aid, n in copies.items() if n > 1)
    stale = sorted({aid for aid, fetched in hits
                    if aid in expected.newest and datetime.fromisoformat(fetched) < expected.newest[aid]})
    found_bad: Counter[str] = Counter()
    unexpected: list[str] = []
    for letter in letters:
        key = base64.b64decode(letter["original_key_b64"]).decode(errors="replace") if letter.get("original_key_b64") else ""
        if key in expected.bad_keys and letter.get("stage") == "parser":
            found_bad[key] += 1
        else:
            unexpected.append(f"{letter.get('stage')}:{letter.get('reason')}:{letter.get('article_id') or key}")
    return Verdict(
        expected=len(expected.newest), indexed=len(copies), lost=lost, duplicated=duplicated, stale=stale,
        unexpected_docs=max(0, total_docs - len(hits)), expected_rejections=len(expected.bad_keys),
        rejections_found=len(found_bad), unexpected_dead_letters=unexpected,
        dead_letter_copies=sum(n - 1 for n in found_bad.values()), uncommitted={k: v for k, v in lag.items() if v},
    )


# --------------------------------------------------------------------------- the run


@dataclass
class FaultRecord:
    at: float
    kind: str
    target: str
    seconds: float
    note: str = ""


@dataclass
class ChaosOptions:
    articles: int = 2000
    faults: int = 20
    seed: int = 0
    window: float = 900.0
    es_outage: float = 60.0
    kinds: tuple[str, ...] = FAULT_KINDS
    new_versions: float = 0.1
    """Share of articles produced again later with a newer fetch time."""
    old_replays: float = 0.03
    """Share of articles whose older version is produced again after the newer one."""
    bad_events: int = 10
    settle_timeout: float = 1800.0


def accepted_pages() -> list[Any]:
    """The corpus pages the parser turns into an article (so every one is expected in the index)."""
    from bench.bench_e2e import corpus, raw_value
    from services.common.outcomes import Rejected
    from services.parser.pool_entry import prepare_worker

    handle = prepare_worker(None)
    return [page for page in corpus() if not isinstance(handle(raw_value(page, 0, "probe")[1]), Rejected)]


def raw_event(page: Any, n: int, run: str, fetched_at: datetime) -> tuple[bytes, bytes, str]:
    from services.scraper.decisions import build_raw_page

    url = f"https://chaos-{n % 40}.example/{run}/news/{n}/"
    raw = build_raw_page(
        source=page.source, requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": page.content_type}, body=page.html, fetched_at=fetched_at,
        fetch_ms=50, discovered_via=None, trace_id=None, language_hint=page.language, timezone=page.timezone,
    )
    return raw.article_id.encode(), raw.model_dump_json().encode(), raw.article_id


def build_events(options: ChaosOptions, pages: list[Any], run: str, rng: random.Random) -> tuple[list[tuple[bytes, bytes]], Expected]:
    """The messages to produce, in order, and what must come out of them."""
    expected = Expected()
    base = datetime.now(timezone.utc) - timedelta(hours=1)
    events: list[tuple[bytes, bytes]] = []
    firsts: dict[int, tuple[bytes, bytes]] = {}
    for n in range(options.articles):
        fetched = base + timedelta(seconds=n)
        key, value, aid = raw_event(pages[n % len(pages)], n, run, fetched)
        events.append((key, value))
        firsts[n] = (key, value)
        expected.newest[aid] = fetched
    updated = rng.sample(range(options.articles), int(options.articles * options.new_versions))
    for n in updated:
        fetched = base + timedelta(minutes=30, seconds=n)
        key, value, aid = raw_event(pages[n % len(pages)], n, run, fetched)
        # Somewhere after the first version.
        events.insert(rng.randint(n + 1, len(events)), (key, value))
        expected.newest[aid] = fetched
    for n in rng.sample(updated, min(len(updated), int(options.articles * options.old_replays))):
        events.append(firsts[n])  # the older version again, last: it must not win
    for i in range(options.bad_events):
        key = f"{BAD_EVENT_KEY}{run}-{i}"
        events.insert(rng.randint(0, len(events)), (key.encode(), b'{"not": "a raw page"'))
        expected.bad_keys.add(key)
    return events, expected


class ChaosRun:
    """One run on a stack: processes, the fault driver and the checks."""

    def __init__(self, cfg: StackConfig, options: ChaosOptions, run_dir: Path) -> None:
        self.cfg = cfg
        self.options = options
        self.rng = random.Random(options.seed)
        self.namespace = f"c{uuid.uuid4().hex[:8]}"
        self.run = uuid.uuid4().hex[:6]
        self.pipeline = Pipeline(cfg, namespace=self.namespace, alias=f"{self.namespace}-articles", run_dir=run_dir)
        self.pipeline.write_sources({"sources": []})
        self.faults: list[FaultRecord] = []
        self.started = 0.0
        self.es_down = asyncio.Event()
        self.in_fault: str | None = None
        self.supervisor_restarts: list[str] = []

    # ---------------------------------------------------------------- clients

    def kafka_kwargs(self) -> dict[str, Any]:
        from services.common.settings import KafkaSettings

        admin = self.cfg.role_credentials("admin")
        return KafkaSettings(bootstrap=self.cfg.kafka_bootstrap, topic_namespace=self.namespace,
                             security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                             username=admin.kafka_username, password=admin.kafka_password, password_file=None).aiokafka_kwargs()

    def es(self) -> Any:
        from elasticsearch import AsyncElasticsearch

        return AsyncElasticsearch(**self.cfg.admin_es_kwargs(), request_timeout=30)

    def topic(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    # ---------------------------------------------------------------- processes

    def start_services(self) -> None:
        self.pipeline.start(SERVICES)
        self.pipeline.wait_ready(SERVICES, timeout=300)

    def restart(self, service: str) -> None:
        self.pipeline.process(service).start(self.pipeline.env(service))

    # ---------------------------------------------------------------- faults

    async def do_fault(self, kind: str) -> FaultRecord:
        at = time.monotonic() - self.started
        began = time.monotonic()
        target, note = "", ""
        if kind == "kill-service":
            target = self.rng.choice(SERVICES)
            self.in_fault = target
            try:
                self.pipeline.process(target).kill()
                await asyncio.sleep(1.0)
                self.restart(target)
            finally:
                self.in_fault = None
        elif kind == "kill-worker":
            target, note = "enrichment", await asyncio.to_thread(self._kill_worker)
        elif kind == "es-outage":
            target = "elasticsearch"
            es = Elasticsearch(self.cfg)
            await asyncio.to_thread(es.stop)
            self.es_down.set()
            await asyncio.sleep(self.options.es_outage)
            await asyncio.to_thread(es.start)
            await asyncio.to_thread(es.wait)
            self.es_down.clear()
        elif kind == "kill-broker":
            node_id = self.rng.randint(1, self.cfg.kafka_brokers)
            target = f"kafka node {node_id}"
            node = Kafka(self.cfg).node(node_id)
            await asyncio.to_thread(node.kill)
            await asyncio.sleep(self.rng.uniform(3.0, 10.0))
            await asyncio.to_thread(node.start)
            await asyncio.to_thread(node.wait)
        elif kind == "second-instance":
            target = self.rng.choice(SERVICES)
            stay = self.rng.uniform(20.0, 40.0)
            await self._second_instance(target, stay)
            note = f"stayed {stay:.0f} s"
        elif kind == "rollover":
            target, note = "write index", await self._rollover()
        else:
            raise ValueError(f"unknown fault {kind!r}")
        return FaultRecord(round(at, 1), kind, target, round(time.monotonic() - began, 1), note)

    def _kill_worker(self) -> str:
        from devtools.devstack.procinfo import process_tree

        root = self.pipeline.process("enrichment").pid()
        if root is None:
            return "enrichment not running"
        children = {pid for pid in process_tree(root) if pid != root and _parent(pid) == root}
        workers = [pid for pid in process_tree(root) if pid != root and pid not in children]
        if not workers:
            return "no worker process found"
        victim = self.rng.choice(sorted(workers))
        os.kill(victim, signal.SIGKILL)
        return f"worker pid {victim}"

    async def _second_instance(self, service: str, stay: float) -> None:
        assert self.pipeline.run_dir is not None
        process = ManagedProcess(f"{service}-2", self.pipeline.run_dir, module=f"services.{service}")
        env = {**self.pipeline.env(service), f"NEWSFLOW_{service.upper()}_HTTP_PORT": str(free_port()),
               "NEWSFLOW_DATA_DIR": str(self.pipeline.run_dir / f"data-{service}-2")}
        process.start(env)
        await asyncio.sleep(stay)
        await asyncio.to_thread(process.stop)

    async def _rollover(self) -> str:
        from services.indexer.templates import IndexNames, rollover

        es = self.es()
        try:
            result = await rollover(es, IndexNames(self.pipeline.alias))
            return f"{result.get('old_index')} → {result.get('new_index')}"
        except Exception as exc:  # noqa: BLE001 - e.g. during an outage: recorded, the run goes on
            return f"failed: {type(exc).__name__}"
        finally:
            await es.close()

    async def supervise(self) -> None:
        """What Compose's `restart: unless-stopped` or a Kubernetes Deployment does: a service
        that exited (a stop on purpose, exit 70, or a crash) is started again a few seconds
        later. Without it a stage that stops itself would look like a loss."""
        while True:
            await asyncio.sleep(3.0)
            for service in SERVICES:
                process = self.pipeline.process(service)
                if service != self.in_fault and process.pid() is None:
                    at = time.monotonic() - self.started
                    self.supervisor_restarts.append(f"{service} at {at:.0f} s")
                    print(f"  supervisor: {service} had exited; started again at {at:.0f} s", flush=True)
                    self.restart(service)

    async def drive(self) -> None:
        """Do the planned faults at their moments, one after the other (a slow one delays the next)."""
        for planned in plan_faults(self.options.seed, self.options.faults, self.options.window, self.options.kinds):
            delay = planned.at - (time.monotonic() - self.started)
            if delay > 0:
                await asyncio.sleep(delay)
            record = await self.do_fault(planned.kind)
            self.faults.append(record)
            print(f"  fault {len(self.faults):>2} at {record.at:>6.1f} s: {record.kind} {record.target} "
                  f"({record.seconds:.1f} s) {record.note}", flush=True)

    # ---------------------------------------------------------------- feeding and checking

    async def produce(self, events: list[tuple[bytes, bytes]], over: float) -> None:
        """Produce the events evenly over `over` seconds, so the faults find the pipeline at work."""
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**self.kafka_kwargs(), max_request_size=8 * 1024 * 1024, compression_type="gzip",
                                    linger_ms=20, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            began = time.monotonic()
            for i, (key, value) in enumerate(events):
                await producer.send(self.topic("news.pages.raw.v1"), value=value, key=key)
                ahead = began + over * i / len(events) - time.monotonic()
                if ahead > 0:
                    await producer.flush()
                    await asyncio.sleep(ahead)
            await producer.flush()
        finally:
            await producer.stop()

    async def index_hits(self, ids: list[str]) -> tuple[list[tuple[str, str]], int]:
        """(id, fetched_at) of every copy of `ids` behind the alias, and all documents behind it."""
        es = self.es()
        hits: list[tuple[str, str]] = []
        try:
            await es.indices.refresh(index=self.pipeline.alias)
            for i in range(0, len(ids), 500):
                response = await es.search(index=self.pipeline.alias, size=2000, source=["fetched_at"],
                                           query={"ids": {"values": ids[i:i + 500]}})
                hits.extend((h["_id"], h["_source"]["fetched_at"]) for h in response["hits"]["hits"])
            total = (await es.count(index=self.pipeline.alias))["count"]
        finally:
            await es.close()
        return hits, total

    async def dead_letters(self) -> list[dict[str, Any]]:
        from bench.stack import read_json_topic

        return await read_json_topic(self.topic("news.deadletter.v1"), self.kafka_kwargs(), idle_ms=1500)

    async def lag(self) -> dict[str, int]:
        """Messages not yet committed, per `group topic`, on the stages' input topics."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        inputs = {"parser": "news.pages.raw.v1", "enrichment": "news.articles.parsed.v1", "indexer": "news.articles.enriched.v1"}
        admin = AIOKafkaAdminClient(**self.kafka_kwargs())
        consumer = AIOKafkaConsumer(**self.kafka_kwargs(), group_id=None)
        await admin.start()
        await consumer.start()
        lag: dict[str, int] = {}
        try:
            for service, name in inputs.items():
                group, topic = f"{self.namespace}.newsflow-{service}", self.topic(name)
                committed = {tp.partition: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                             if tp.topic == topic}
                partitions = await _partitions(admin, topic)
                ends = await consumer.end_offsets(partitions)
                lag[f"{group} {topic}"] = sum(max(0, end - max(0, committed.get(tp.partition, 0))) for tp, end in ends.items())
        finally:
            await consumer.stop()
            await admin.close()
        return lag

    async def settle(self, expected: Expected) -> None:
        """Wait until every article is indexed at its newest version and every group committed."""
        ids = sorted(expected.newest)
        deadline = time.monotonic() + self.options.settle_timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(5.0)
            if self.es_down.is_set():
                continue
            try:
                hits, _ = await self.index_hits(ids)
                newest = {aid for aid, fetched in hits if datetime.fromisoformat(fetched) >= expected.newest[aid]}
                if len(newest) == len(ids) and not any((await self.lag()).values()):
                    return
                print(f"  {time.monotonic() - self.started:>6.0f} s: {len(newest)}/{len(ids)} indexed at their newest version",
                      flush=True)
            except Exception as exc:  # noqa: BLE001 - Elasticsearch or Kafka down for a fault: look again later
                print(f"  checking failed for now: {type(exc).__name__}", flush=True)

    async def execute(self) -> tuple[Verdict, float]:
        pages = await asyncio.to_thread(accepted_pages)
        events, expected = build_events(self.options, pages, self.run, self.rng)
        await asyncio.to_thread(self.start_services)
        self.started = time.monotonic()
        # Fed over most of the fault window: the faults hit a pipeline that is working.
        feeding = asyncio.ensure_future(self.produce(events, over=self.options.window * 0.8))
        supervisor = asyncio.ensure_future(self.supervise())
        try:
            await self.drive()
            await feeding
            await self.settle(expected)
        finally:
            supervisor.cancel()
        wall = time.monotonic() - self.started
        ids = sorted(expected.newest)
        hits, total = await self.index_hits(ids)
        return judge(expected, hits, total, await self.dead_letters(), await self.lag()), wall


async def _partitions(admin: Any, topic: str) -> list[Any]:
    from aiokafka import TopicPartition

    described = await admin.describe_topics([topic])
    return [TopicPartition(topic, p["partition"]) for d in described for p in d["partitions"]]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


# --------------------------------------------------------------------------- the report


def report(verdict: Verdict, faults: list[FaultRecord], wall: float, options: ChaosOptions, brokers: int, machine: str,
           restarts: list[str] | tuple[str, ...] = ()) -> str:
    kinds = Counter(f.kind for f in faults)
    lines = [
        f"## Chaos run (`make chaos`), seed {options.seed}",
        "",
        f"Machine: {machine}. Kafka: {brokers} broker(s). Raw pages fed to news.pages.raw.v1; "
        f"{options.articles} articles, {int(options.articles * options.new_versions)} of them again with a newer version, "
        f"{int(options.articles * options.old_replays)} older versions replayed after the newer one, "
        f"{options.bad_events} events that are not raw pages.",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| faults: {kind} | {kinds.get(kind, 0)} |" for kind in FAULT_KINDS),
        f"| faults in all | {len(faults)} |",
        f"| articles expected | {verdict.expected} |",
        f"| articles indexed | {verdict.indexed} |",
        f"| **lost** | **{len(verdict.lost)}** |",
        f"| **duplicated** (more than one copy behind the alias) | **{len(verdict.duplicated)}** |",
        f"| not at the newest version | {len(verdict.stale)} |",
        f"| documents that were not expected | {verdict.unexpected_docs} |",
        f"| expected dead letters found | {verdict.rejections_found} of {verdict.expected_rejections} |",
        f"| dead letters written twice (at-least-once) | {verdict.dead_letter_copies} |",
        f"| unexpected dead letters | {len(verdict.unexpected_dead_letters)} |",
        f"| uncommitted input messages at the end | {sum(verdict.uncommitted.values())} |",
        f"| services that exited on their own and were started again (supervisor) | {len(restarts)}"
        f"{' (' + ', '.join(restarts) + ')' if restarts else ''} |",
        f"| wall time | {wall:.0f} s |",
        f"| verdict | {'PASS' if verdict.ok else 'FAIL'} |",
        "",
        "Faults:",
        "",
        "| at (s) | kind | target | took (s) | note |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {f.at} | {f.kind} | {f.target} | {f.seconds} | {f.note} |" for f in faults),
    ]
    for title, items in (("Lost", verdict.lost), ("Duplicated", verdict.duplicated), ("Stale", verdict.stale),
                         ("Unexpected dead letters", verdict.unexpected_dead_letters)):
        if items:
            lines += ["", f"{title}: " + ", ".join(items[:50]) + (" …" if len(items) > 50 else "")]
    if verdict.uncommitted:
        lines += ["", "Uncommitted: " + ", ".join(f"{k}: {v}" for k, v in verdict.uncommitted.items())]
    return "\n".join(lines)


def chaos_config(brokers: int) -> StackConfig:
    ports = {name: int(os.environ.get(f"NEWSFLOW_CHAOS_{name.upper()}", default)) for name, default in CHAOS_PORTS.items()}
    return StackConfig.from_env("chaos", **ports, kafka_brokers=brokers, es_aliases=("articles", "*-articles"))


async def run_chaos(options: ChaosOptions, cfg: StackConfig, run_dir: Path) -> tuple[Verdict, str]:
    """A run on `cfg`'s stack (started when it is not running; stopped again if started here)."""
    from bench.__main__ import machine

    stack = Stack(cfg)
    started_stack = not all(c.running_pid() for c in stack.components)
    await asyncio.to_thread(stack.start, True)
    chaos = ChaosRun(cfg, options, run_dir)
    try:
        verdict, wall = await chaos.execute()
    finally:
        stop_all(run_dir)
        if started_stack:
            await asyncio.to_thread(stack.stop)
    return verdict, report(verdict, chaos.faults, wall, options, cfg.kafka_brokers, machine(), chaos.supervisor_restarts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--faults", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--window", type=float, default=900.0, help="seconds in which the faults happen")
    parser.add_argument("--es-outage", type=float, default=60.0)
    parser.add_argument("--brokers", type=int, default=3, choices=(1, 3))
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS), help="comma-separated fault kinds")
    parser.add_argument("--settle-timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    print(f"chaos: seed {seed}", flush=True)
    options = ChaosOptions(articles=args.articles, faults=args.faults, seed=seed, window=args.window, es_outage=args.es_outage,
                           kinds=tuple(k for k in args.kinds.split(",") if k), settle_timeout=args.settle_timeout)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = ROOT / ".run" / "chaos" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    verdict, text = asyncio.run(run_chaos(options, chaos_config(args.brokers), run_dir))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"chaos-{stamp}.md").write_text(text + "\n")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

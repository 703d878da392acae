"""Building a faust app for one service, with /metrics, /livez and /readyz.

Each service's `app.py` calls `build_app`, declares its topics and agents on the
result, and hands it to `run_worker`. Nothing connects at import time: the faust
app object is created inside the service's factory, and clients start with the
worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaProducerDriver
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from schemas.topics import TopicSpec, topic_name, used_by
from services.common.admin import ensure_changelogs, ensure_topics
from services.common.logs import configure_logging, get_logger
from services.common.metrics import CONSUMER_LAG, EVENT_LOOP_LAG, READY
from services.common.service_catalogue import group_id
from services.common.settings import ServiceSettings

log = get_logger(__name__)

# Exit status of a service that stopped itself (stop rule, a write refused for good):
# non-zero, so an orchestrator backs off and the "stage down" alert fires.
EXIT_STOPPED = 70
_exit_code: int | None = None

ReadyCheck = Callable[[], Awaitable[bool]]

# The loop is "blocked" for liveness when a 1 s tick runs this much late.
LIVENESS_LAG_LIMIT = 10.0
# Readiness holds for this long after the last successful Kafka round trip.
KAFKA_READY_WINDOW = 30.0


class ServiceHealth:
    """Liveness and readiness of one service process.

    live: the event loop keeps running its 1 s tick (a blocked loop also fails the
    probe simply by not answering). ready: Kafka answered a metadata request in the
    last 30 s, the consumer joined its group, and every extra check (Elasticsearch
    for the indexer) passes.
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.last_tick = time.monotonic()
        self.loop_lag = 0.0
        self.kafka_ok_at = 0.0
        self.assigned = False
        self.extra_checks: dict[str, ReadyCheck] = {}
        self.extra_state: dict[str, bool] = {}

    def live(self) -> bool:
        return time.monotonic() - self.last_tick < LIVENESS_LAG_LIMIT and self.loop_lag < LIVENESS_LAG_LIMIT

    def ready(self) -> bool:
        kafka_ok = time.monotonic() - self.kafka_ok_at < KAFKA_READY_WINDOW
        return kafka_ok and self.assigned and all(self.extra_state.get(n, False) for n in self.extra_checks)

    def report(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "live": self.live(),
            "ready": self.ready(),
            "event_loop_lag_seconds": round(self.loop_lag, 4),
            "kafka": time.monotonic() - self.kafka_ok_at < KAFKA_READY_WINDOW,
            "joined_group": self.assigned,
            **{name: self.extra_state.get(name, False) for name in self.extra_checks},
        }


def app_id(service: str, settings: ServiceSettings) -> str:
    """The faust app id, which is also the service's consumer group."""
    return group_id(service, settings.kafka.topic_namespace, settings.group_id)


class IdempotentProducer(AIOKafkaProducerDriver):
    """faust's aiokafka producer with idempotence on: a retried produce is written once."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class NewsflowApp(faust.App):
    """A faust app whose producer is idempotent with acks=all (faust only turns that on
    inside transactions), with the service's health beside it.

    `health` is what /livez and /readyz report; a service adds its own readiness checks to
    `health.extra_checks` (Elasticsearch reachable, crawl state restored, worker pool up).
    """

    def __init__(self, id: str, *, health: ServiceHealth, **options: Any) -> None:
        super().__init__(id, **options)
        self.health = health

    def _new_transport(self):  # type: ignore[no-untyped-def]
        transport = super()._new_transport()
        transport.Producer = IdempotentProducer  # app.producer comes from this transport
        return transport

    def _new_producer_transport(self):  # type: ignore[no-untyped-def]
        transport = super()._new_producer_transport()
        transport.Producer = IdempotentProducer
        return transport


def build_app(service: str, settings: ServiceSettings, *, stage: str | None = None) -> NewsflowApp:
    """A faust app wired the way every newsflow service needs it.

    Values are raw bytes: each stage decodes with its pydantic schema so that a
    malformed message becomes a dead letter instead of crashing the agent.
    """
    stage = stage or service
    identifier = app_id(service, settings)
    kafka = settings.kafka
    credentials = None
    if kafka.sasl_mechanism:
        credentials = faust.SASLCredentials(
            username=kafka.username or "",
            password=kafka.password.get_secret_value() if kafka.password else "",
            mechanism=kafka.sasl_mechanism,
            ssl_context=kafka.aiokafka_kwargs().get("ssl_context"),
        )
    elif kafka.security_protocol == "SSL":
        credentials = faust.SSLCredentials(kafka.aiokafka_kwargs()["ssl_context"])
    health = ServiceHealth(stage)
    app = NewsflowApp(
        identifier,
        health=health,
        broker=kafka.broker_url,
        broker_credentials=credentials,
        store=settings.runtime.table_store,
        datadir=str(Path(settings.runtime.data_dir) / identifier),
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_bind=settings.http_host,
        web_port=settings.http_port,
        web_host=settings.http_host,
        topic_replication_factor=kafka.replication_factor,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_compression_type="gzip",
        producer_max_request_size=16 * 1024 * 1024,
        consumer_max_fetch_size=16 * 1024 * 1024,
        producer_acks=-1,
        broker_commit_interval=1.0,
        # A member killed with -9 holds its partitions until its session times out: keep that
        # short (the event loop never runs the CPU-heavy work, so heartbeats are never late).
        broker_session_timeout=settings.runtime.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.runtime.session_timeout / 3),
        stream_buffer_maxsize=256,
        table_standby_replicas=0,
        worker_redirect_stdouts=False,
    )
    _install_http_endpoints(app, health)
    _install_monitors(app, health, stage, settings)
    return app


def _install_http_endpoints(app: faust.App, health: ServiceHealth) -> None:
    @app.page("/metrics")
    async def metrics(web, request):  # type: ignore[no-untyped-def]
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/livez")
    async def livez(web, request):  # type: ignore[no-untyped-def]
        return web.json(health.report(), status=200 if health.live() else 503)

    @app.page("/readyz")
    async def readyz(web, request):  # type: ignore[no-untyped-def]
        return web.json(health.report(), status=200 if health.ready() else 503)


def _install_monitors(app: faust.App, health: ServiceHealth, stage: str, settings: ServiceSettings) -> None:
    @app.task
    async def watch_event_loop() -> None:
        while not app.should_stop:
            before = time.monotonic()
            await asyncio.sleep(1.0)
            now = time.monotonic()
            health.loop_lag = max(0.0, now - before - 1.0)
            health.last_tick = now
            EVENT_LOOP_LAG.labels(stage).set(health.loop_lag)

    @app.task
    async def watch_dependencies() -> None:
        admin: AIOKafkaAdminClient | None = None
        while not app.should_stop:
            try:
                if admin is None:
                    admin = AIOKafkaAdminClient(**settings.kafka.aiokafka_kwargs(), request_timeout_ms=5000)  # type: ignore[arg-type]
                    await admin.start()
                await asyncio.wait_for(admin.describe_cluster(), timeout=10)
                health.kafka_ok_at = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
                log.warning("kafka health check failed", error=repr(exc))
                if admin is not None:
                    try:
                        await admin.close()
                    except Exception:  # noqa: BLE001
                        pass
                admin = None
            for name, check in health.extra_checks.items():
                try:
                    health.extra_state[name] = await asyncio.wait_for(check(), timeout=10)
                except Exception:  # noqa: BLE001
                    health.extra_state[name] = False
            consumer = running_consumer(app)
            health.assigned = health.assigned or bool(consumer and consumer.assignment())
            READY.labels(stage).set(1 if health.ready() else 0)
            # Every 5 s once ready; while starting, every 0.5 s, so /readyz turns green when the
            # service is ready rather than up to 5 s later.
            await asyncio.sleep(5.0 if health.ready() else 0.5)
        if admin is not None:
            await admin.close()

    @app.timer(5.0)
    async def export_consumer_lag() -> None:
        consumer = running_consumer(app)
        if consumer is None:
            return
        for tp in consumer.assignment():
            if tp.topic.endswith("-changelog"):
                continue
            try:
                highwater = consumer.highwater(tp)
                position = await consumer.position(tp)
            except Exception:  # noqa: BLE001 - partition moved during a rebalance
                continue
            if highwater is not None and position is not None:
                CONSUMER_LAG.labels(stage, tp.topic, str(tp.partition)).set(max(0, highwater - position))

    @app.on_partitions_assigned.connect  # type: ignore[misc]
    async def on_assigned(app_, assigned, **kwargs) -> None:  # type: ignore[no-untyped-def]
        health.assigned = True

    @app.on_partitions_revoked.connect  # type: ignore[misc]
    async def on_revoked(app_, revoked, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # A partition now owned by another worker must not keep reporting its old lag here.
        for tp in revoked:
            try:
                CONSUMER_LAG.remove(stage, tp.topic, str(tp.partition))
            except KeyError:
                pass


def running_consumer(app: faust.App) -> Any | None:
    """The app's Kafka consumer once the worker has made it; None before (and after a stop).

    faust's public `app.consumer` makes a consumer on first access: a timer or health check
    that runs before the worker started would create a second one, outside the group. So this
    reads faust's private `app._consumer`, here only, for every caller.
    """
    return getattr(app, "_consumer", None)


def topic(app: faust.App, spec: TopicSpec, settings: ServiceSettings) -> faust.TopicT:
    """Declare a catalogue topic on the app, in the configured namespace."""
    return app.topic(
        topic_name(spec, settings.kafka.topic_namespace),
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions,
        internal=False,
    )


async def stop_service(reason: str) -> None:
    """Stop this service on purpose: one clear log line, a graceful shutdown, a non-zero exit.

    Nothing more is consumed (the caller never returns from this), nothing unacknowledged is
    committed: what the stage did not finish is redelivered after the cause is fixed.
    """
    global _exit_code
    if _exit_code is None:
        _exit_code = EXIT_STOPPED
        log.critical("stopping the service", reason=reason, exit_code=EXIT_STOPPED)
        os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.Event().wait()


async def run_until_stage_stops(work: Awaitable[None]) -> None:
    """Await an agent's work; a `StageStopped` from its event path stops the service.

    The event that was being finished stays unacknowledged (see services/common/stage.py).
    """
    from services.common.stage import StageStopped

    try:
        await work
    except StageStopped as exc:
        await stop_service(str(exc))


async def run_event_agent(stream: Any, handle: Callable[[Any, Callable[[], Awaitable[Any]]], Awaitable[None]]) -> None:
    """Hand each event of a faust agent's stream to `handle(event, ack)`, one after the other.

    `event` is a `RawEvent`; `ack()` acknowledges it, whenever the handler decides (the
    scraper's crawler calls it when a task is done, long after `handle` returned). A
    `StageStopped` from the handler stops the service (see `run_until_stage_stops`).
    """
    from services.common.stage import faust_events

    manual = stream.noack()

    async def handle_each() -> None:
        async for event in faust_events(manual):
            await handle(event, partial(manual.ack, event.source))

    await run_until_stage_stops(handle_each())


async def run_stage_agent(runner: Any, stream: Any) -> None:
    """Run a `StageRunner` on a faust agent's stream, with explicit acks and the stop rule."""
    from services.common.stage import faust_events

    manual = stream.noack()
    try:
        await run_until_stage_stops(runner.run(faust_events(manual), lambda event: manual.ack(event.source)))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - see below
        # Any other failure here would crash the agent, and faust would restart it on the same
        # stream with the failed event never acknowledged: that partition's commits stall for
        # good while the others go on. Stopping instead gets the event redelivered.
        log.exception("the stage loop failed")
        await stop_service(f"{runner.name}: the stage loop failed: {type(exc).__name__}: {exc}")


async def start_pool(pool: Any, app: NewsflowApp) -> None:
    """Start a stage's WorkerPool; /readyz waits for it; a pool that cannot start stops the service."""
    from services.common.workers import PoolUnavailable

    async def workers_ready() -> bool:
        return bool(pool.ready)

    app.health.extra_checks["workers"] = workers_ready
    try:
        await pool.start()
    except PoolUnavailable as exc:
        await stop_service(str(exc))


def run_worker(app: faust.App, service: str, settings: ServiceSettings, specs: tuple[TopicSpec, ...] | None = None) -> None:
    """Create the topics the service uses (default: those the catalogue names it for), then run
    the faust worker until SIGTERM/SIGINT.

    Only its own topics: with ACLs on, a service may not even describe the others.
    """
    specs = used_by(service) if specs is None else specs
    configure_logging(service, settings.runtime.log_level, settings.runtime.log_format)
    log.info(
        "starting",
        service=service,
        kafka=settings.kafka.bootstrap,
        namespace=settings.kafka.topic_namespace or None,
        http=f"{settings.http_host}:{settings.http_port}",
    )
    Path(settings.runtime.data_dir).mkdir(parents=True, exist_ok=True)
    # faust creates its tables' changelog topics in the background; on a fresh cluster the
    # first events can otherwise find a changelog without partitions. Create them first.
    changelogs = [(t.changelog_topic.get_topic_name(), t.partitions or 1) for t in app.tables.values()]

    async def create_topics() -> None:
        await ensure_topics(settings.kafka, specs)
        if changelogs:
            await ensure_changelogs(settings.kafka, changelogs)

    asyncio.run(create_topics())
    # asyncio.run closed its loop; faust's worker needs a fresh default loop.
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = _Worker(
        app,
        loglevel=settings.runtime.log_level,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    worker.shutdown_timeout = settings.runtime.shutdown_timeout
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    sys.exit(_exit_code if _exit_code is not None else code)


class _Worker(faust.Worker):
    """faust's worker, with a bound on how long a stop request may take.

    faust waits for in-flight events on shutdown; an agent inside a retry loop
    (Elasticsearch down) would keep the process alive indefinitely. Work that was
    not committed is safe: Kafka redelivers it after the restart.
    """

    shutdown_timeout: float = 20.0

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        def hard_exit() -> None:
            os._exit(_exit_code if _exit_code is not None else (0 if signum == signal.SIGTERM else 1))

        timer = threading.Timer(self.shutdown_timeout, hard_exit)
        timer.daemon = True
        timer.start()
        super()._schedule_shutdown(signum)

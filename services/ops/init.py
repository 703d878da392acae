"""`python -m services.ops.init`: create every catalogue topic and install the index contract.

Run once before the services start (the compose `init` service, the Kubernetes
`newsflow-init` Job). Both steps are idempotent, so running it again — on every
deploy, or by hand — is harmless. The services would do the same on start-up
(`run_worker` creates topics, the indexer installs templates); doing it up front
means a missing permission or an incompatible cluster fails one visible Job
instead of crash-looping four Deployments.

Waits for Kafka and Elasticsearch to become reachable (up to `--timeout` seconds,
retrying with backoff), then exits 0. Exits 1 when the deadline passes or when
Elasticsearch refuses the templates (a 4xx other than 408/429: a bug or an
incompatible cluster, retrying would not help).

Settings are the services' own: NEWSFLOW_KAFKA_* (bootstrap, namespace, auth,
replication factor), NEWSFLOW_ES_* (URL, auth, alias) and NEWSFLOW_INDEXER_REPLICAS.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from services.common.logs import configure_logging, get_logger

log = get_logger(__name__)


class InitError(RuntimeError):
    """Initialisation cannot succeed by waiting longer; the message says why."""


async def create_topics(kafka, timeout: float) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Create the catalogue's missing topics; {name: partitions}. Retries until `timeout`."""
    from schemas.topics import CATALOGUE
    from services.common.admin import ensure_topics

    return await ensure_topics(kafka, CATALOGUE, timeout=timeout)


async def install_index_contract(es_settings, replicas: int, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Install templates, first index and aliases; True when the first index was created now.

    Retries connection errors, timeouts, 408, 429 and 5xx until `timeout`; raises
    InitError at once on any other 4xx.
    """
    from elasticsearch import ApiError, AsyncElasticsearch

    from services.common.retry import Backoff, is_transient_status
    from services.indexer.templates import IndexNames, install

    names = IndexNames(es_settings.alias)
    deadline = time.monotonic() + timeout
    backoff, attempt = Backoff(0.5, 10.0), 0
    es = AsyncElasticsearch(**es_settings.client_kwargs())
    try:
        while True:
            try:
                health = await es.cluster.health(wait_for_status="yellow", timeout="5s")
                if health.get("status") not in ("green", "yellow"):
                    raise ConnectionError(f"cluster status is {health.get('status')}")
                return await install(es, names, replicas=replicas)
            except ApiError as exc:
                status = exc.meta.status
                if not is_transient_status(status):
                    raise InitError(f"Elasticsearch refused the index contract ({status}): {exc}") from exc
                error = f"{status}: {exc}"
            except Exception as exc:  # noqa: BLE001 - unreachable, timeout, red cluster: wait
                error = repr(exc)
            delay = backoff.delay(attempt)
            attempt += 1
            if time.monotonic() + delay > deadline:
                raise InitError(f"Elasticsearch at {es_settings.url} not usable within {timeout:.0f}s: {error}")
            log.warning("elasticsearch not ready yet, retrying", error=error, retry_in=round(delay, 2))
            await asyncio.sleep(delay)
    finally:
        await es.close()


async def initialise(*, topics: bool = True, index: bool = True, timeout: float = 300.0) -> dict[str, object]:
    """Both steps with the services' settings from the environment; a summary for the log."""
    from services.indexer.settings import IndexerSettings

    settings = IndexerSettings()
    summary: dict[str, object] = {"namespace": settings.kafka.topic_namespace or None, "alias": settings.es.alias}
    if topics:
        shape = await create_topics(settings.kafka, timeout)
        summary["topics"] = shape
        log.info("topics ready", topics=shape)
    if index:
        created = await install_index_contract(settings.es, settings.replicas, timeout)
        summary["first_index_created"] = created
        log.info("index contract installed", alias=settings.es.alias, write_alias=settings.es.write_alias, created_first_index=created)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ops.init", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for Kafka and Elasticsearch (default 300)")
    step = parser.add_mutually_exclusive_group()
    step.add_argument("--topics-only", action="store_true", help="only create the Kafka topics")
    step.add_argument("--index-only", action="store_true", help="only install the Elasticsearch index contract")
    args = parser.parse_args(argv)

    from services.common.settings import RuntimeSettings

    runtime = RuntimeSettings()
    configure_logging("init", runtime.log_level, runtime.log_format)
    try:
        summary = asyncio.run(initialise(topics=not args.index_only, index=not args.topics_only, timeout=args.timeout))
    except InitError as exc:
        log.critical("init failed", error=str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - Kafka unreachable past the deadline, topic shape mismatch
        log.critical("init failed", error=repr(exc))
        return 1
    log.info("init done", **summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

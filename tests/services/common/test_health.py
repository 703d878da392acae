"""Liveness and readiness mean something: a blocked loop is not live, no Kafka is not ready."""

import time

from services.common.app import KAFKA_READY_WINDOW, LIVENESS_LAG_LIMIT, ServiceHealth


def test_ready_needs_kafka_the_group_and_every_extra_check() -> None:
    health = ServiceHealth("indexer")
    assert not health.ready()
    health.kafka_ok_at = time.monotonic()
    health.assigned = True
    assert health.ready()

    async def es_up() -> bool:
        return True

    health.extra_checks["elasticsearch"] = es_up
    assert not health.ready(), "an extra check that has not passed yet"
    health.extra_state["elasticsearch"] = True
    assert health.ready()
    health.kafka_ok_at = time.monotonic() - KAFKA_READY_WINDOW - 1
    assert not health.ready(), "Kafka not seen for too long"


def test_a_blocked_event_loop_is_not_live() -> None:
    health = ServiceHealth("enrichment")
    assert health.live()
    health.loop_lag = LIVENESS_LAG_LIMIT + 1
    assert not health.live()
    health.loop_lag = 0
    health.last_tick = time.monotonic() - LIVENESS_LAG_LIMIT - 1
    assert not health.live()

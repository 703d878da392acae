"""The one backoff rule and the one fatal/transient rule."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError
from elastic_transport import ConnectionTimeout

from services.common.retry import Backoff, is_infrastructure_error, is_transient_status


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 507, 599])
def test_timeouts_throttling_and_server_errors_are_transient(status: int) -> None:
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_client_errors_are_final(status: int) -> None:
    assert not is_transient_status(status)


def test_infrastructure_errors_are_the_clients_and_the_network() -> None:
    assert is_infrastructure_error(KafkaConnectionError())
    assert is_infrastructure_error(ConnectionTimeout("timed out"))
    assert is_infrastructure_error(ConnectionRefusedError())
    assert is_infrastructure_error(asyncio.TimeoutError())


def test_errors_of_the_data_are_not_infrastructure() -> None:
    assert not is_infrastructure_error(ValueError("bad zone"))
    assert not is_infrastructure_error(OSError("file name too long"))
    assert not is_infrastructure_error(KeyError("x"))


def test_delays_grow_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    for attempt, ceiling in ((0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (1000, 8.0)):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        assert len(set(delays)) > 100, "jittered, so a fleet does not retry in lockstep"


async def test_sleep_waits_the_delay_it_returns() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    waited = await Backoff(base=0.02, cap=0.02).sleep(0)
    assert 0.01 <= waited <= 0.02 and loop.time() - started >= waited * 0.9

"""One backoff rule for every retry of infrastructure trouble, and the rule for what is transient.

Retries are for Kafka, Elasticsearch and the network being unavailable for a while; an
error caused by the data is never retried (it is dead-lettered). `Backoff` gives jittered
exponential delays (half to full of base·2^attempt, capped), so a fleet of workers that
lost the same dependency does not come back in lockstep.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

# HTTP statuses that mean "not now" rather than "never": timeouts, throttling, server trouble.
TRANSIENT_HTTP_STATUS = frozenset({408, 429, 500, 502, 503, 504})

# Libraries whose exceptions are about reaching a dependency, not about the data.
INFRASTRUCTURE_MODULES = ("faust", "aiokafka", "kafka", "mode", "elasticsearch", "elastic_transport", "aiohttp")


def is_transient_status(status: int) -> bool:
    """An HTTP status worth retrying later: 408, 429 and 5xx. Every other 4xx is final."""
    return status in TRANSIENT_HTTP_STATUS or status >= 500


def is_infrastructure_error(exc: BaseException) -> bool:
    """Trouble with Kafka, a table's changelog, Elasticsearch or the network, not with the data.

    Only exceptions raised by those clients, and connection errors, count. A plain OSError
    or ValueError raised by pure code on a page (a bad zone name, a path too long) is the
    data's fault: retrying it would only repeat it forever.
    """
    module = type(exc).__module__ or ""
    return isinstance(exc, (ConnectionError, asyncio.TimeoutError)) or module.startswith(INFRASTRUCTURE_MODULES)


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt + 1` (attempt counts from 0)."""
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 32)))
        return random.uniform(ceiling / 2, ceiling)

    async def sleep(self, attempt: int) -> float:
        delay = self.delay(attempt)
        await asyncio.sleep(delay)
        return delay

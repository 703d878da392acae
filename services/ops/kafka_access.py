"""Applying access to a Kafka cluster: SCRAM users and ACLs, over Kafka's own admin protocol.

aiokafka's admin client has no calls for these, so the two requests it lacks are
declared here from Kafka's protocol definitions (AlterUserScramCredentials v0,
a flexible version; CreateAcls/DeleteAcls v1 come from aiokafka) and sent with its
connection. Every call needs a principal with cluster-wide rights (a super user of
the cluster, or ALTER on the cluster for users and ACLs).

All functions are coroutines; none blocks the event loop (the salted password is
computed off the loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest_v1, DeleteAclsRequest_v1
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from services.ops.access import KafkaAcl

SCRAM_MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
SCRAM_ITERATIONS = 8192
ANY_HOST = "*"
ALLOW = 3


class KafkaAccessError(RuntimeError):
    """The cluster refused a user or ACL change; the message carries Kafka's error."""


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(
            ("user", CompactString("utf-8")),
            ("error_code", Int16),
            ("error_message", CompactString("utf-8")),
            ("tags", TaggedFields),
        )),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(
            ("name", CompactString("utf-8")),
            ("mechanism", Int8),
            ("tags", TaggedFields),
        )),
        ("upsertions", CompactArray(
            ("name", CompactString("utf-8")),
            ("mechanism", Int8),
            ("iterations", Int32),
            ("salt", CompactBytes),
            ("salted_password", CompactBytes),
            ("tags", TaggedFields),
        )),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest(Request[AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51

    def __init__(self, deletions: list[tuple[Any, ...]], upsertions: list[tuple[Any, ...]]) -> None:
        self._deletions = deletions
        self._upsertions = upsertions

    def build(self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]) -> AlterUserScramCredentialsRequest_v0:
        return request_struct_class(self._deletions, self._upsertions, {})


class _CreateAcls(Request[CreateAclsRequest_v1]):
    """CreateAcls v1 with many bindings in one request (aiokafka's wrapper takes one)."""

    API_KEY = 30

    def __init__(self, creations: list[tuple[Any, ...]]) -> None:
        self._creations = creations

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


class _DeleteAcls(Request[DeleteAclsRequest_v1]):
    API_KEY = 31

    def __init__(self, filters: list[tuple[Any, ...]]) -> None:
        self._filters = filters

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._filters)


def salted_password(password: str, salt: bytes, mechanism: str = "SCRAM-SHA-512", iterations: int = SCRAM_ITERATIONS) -> bytes:
    """RFC 5802's SaltedPassword := Hi(Normalize(password), salt, i), what the broker stores."""
    _, digest = SCRAM_MECHANISMS[mechanism]
    return hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations)


def _raise_for(results: Iterable[tuple[Any, ...]], what: str) -> None:
    errors = [(code, message, subject) for subject, code, message in results if code]
    if errors:
        code, message, subject = errors[0]
        raise KafkaAccessError(f"{what} refused for {subject}: {for_code(code).__name__} ({message})")


async def upsert_scram_users(admin: AIOKafkaAdminClient, users: dict[str, str], mechanism: str = "SCRAM-SHA-512") -> None:
    """Create or change the SCRAM credential of each user (name → password). Idempotent."""
    code, _ = SCRAM_MECHANISMS[mechanism]

    def upsertions() -> list[tuple[Any, ...]]:
        rows = []
        for name, password in users.items():
            salt = os.urandom(32)
            rows.append((name, code, SCRAM_ITERATIONS, salt, salted_password(password, salt, mechanism), {}))
        return rows

    rows = await asyncio.to_thread(upsertions)
    response = await admin._send_request(AlterUserScramCredentialsRequest([], rows))  # noqa: SLF001 - see module docstring
    _raise_for(((r[0], r[1], r[2]) for r in response.results), "SCRAM credential change")


async def wait_until_accepted(connection: dict[str, Any], timeout: float = 30.0) -> None:
    """Return once a client with these connection arguments gets in; KafkaAccessError after `timeout`.

    A new SCRAM credential is committed by the controller first and reaches each broker's
    metadata a moment later: a client that connects at once can still be turned away.
    """
    import logging

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # the refusals while we wait are expected
    try:
        while True:
            client = AIOKafkaAdminClient(**connection, request_timeout_ms=5000)
            try:
                await client.start()
                await client.describe_cluster()
                return
            except Exception as exc:  # noqa: BLE001 - any refusal: not yet
                if loop.time() > deadline:
                    raise KafkaAccessError(f"{connection.get('sasl_plain_username')} still refused after {timeout:.0f}s: {exc!r}") from exc
            finally:
                await client.close()
            await asyncio.sleep(0.5)
    finally:
        aiokafka_log.setLevel(level)


async def delete_scram_users(admin: AIOKafkaAdminClient, names: Iterable[str], mechanism: str = "SCRAM-SHA-512") -> None:
    """Remove the SCRAM credentials of these users; unknown users are ignored."""
    code, _ = SCRAM_MECHANISMS[mechanism]
    rows = [(name, code, {}) for name in names]
    if not rows:
        return
    response = await admin._send_request(AlterUserScramCredentialsRequest(rows, []))  # noqa: SLF001
    # RESOURCE_NOT_FOUND (91): the user had no credential, which is what we wanted.
    _raise_for(((r[0], r[1], r[2]) for r in response.results if r[1] != 91), "SCRAM credential removal")


async def create_acls(admin: AIOKafkaAdminClient, acls: Iterable[KafkaAcl]) -> int:
    """Add ALLOW bindings (existing ones are left as they are); returns how many were sent."""
    rows = [
        (int(a.resource_type), a.resource_name, int(a.pattern_type), a.principal, ANY_HOST, int(a.operation), ALLOW)
        for a in acls
    ]
    if not rows:
        return 0
    response = await admin._send_request(_CreateAcls(rows))  # noqa: SLF001
    _raise_for(((rows[i][1], r[0], r[1]) for i, r in enumerate(response.creation_responses)), "ACL creation")
    return len(rows)


async def delete_acls(admin: AIOKafkaAdminClient, acls: Iterable[KafkaAcl]) -> None:
    """Remove exactly these bindings (missing ones are ignored)."""
    rows = [
        (int(a.resource_type), a.resource_name, int(a.pattern_type), a.principal, ANY_HOST, int(a.operation), ALLOW)
        for a in acls
    ]
    if rows:
        response = await admin._send_request(_DeleteAcls(rows))  # noqa: SLF001
        _raise_for(((rows[i][1], r[0], r[1]) for i, r in enumerate(response.filter_responses)), "ACL removal")



async def delete_acls_of(admin: AIOKafkaAdminClient, principals: Iterable[str]) -> None:
    """Remove every ALLOW binding of these principals (e.g. `User:t1234.newsflow-parser`)."""
    any_ = 1  # ANY, as resource type, pattern type and operation filter
    rows = [(any_, None, any_, principal, None, any_, ALLOW) for principal in principals]
    if rows:
        response = await admin._send_request(_DeleteAcls(rows))  # noqa: SLF001
        _raise_for(((rows[i][3], r[0], r[1]) for i, r in enumerate(response.filter_responses)), "ACL removal")

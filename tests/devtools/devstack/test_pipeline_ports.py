"""Ports for the processes a test or benchmark starts (devtools/devstack/pipeline.py:free_port)."""

from __future__ import annotations

import socket

from devtools.devstack.pipeline import _ephemeral_range, free_port


def test_ports_are_free_distinct_and_outside_the_range_outgoing_connections_use() -> None:
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(not low <= port <= high for port in ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free: a service can bind it


def test_a_port_in_use_is_never_handed_out(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from devtools.devstack import pipeline

    busy = socket.socket()
    for port in range(13000, 14000):  # a port of the range that nothing holds, held by this test
        try:
            busy.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    busy.listen()
    try:
        monkeypatch.setattr(pipeline, "_PORT_RANGE", (port, port + 1))
        with pytest.raises(RuntimeError, match="no free TCP port"):
            free_port()
    finally:
        busy.close()
    assert free_port() == port  # released: now it is handed out

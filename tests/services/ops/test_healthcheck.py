"""The image's health check against a real HTTP endpoint."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from services.ops import healthcheck


@pytest.fixture
def endpoint() -> Iterator[tuple[int, dict[str, int]]]:
    """A local server answering /livez with whatever status the test sets."""
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's API
            code = state["status"] if self.path == "/livez" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], state
    server.shutdown()
    server.server_close()


def test_healthy_and_unhealthy(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    port, state = endpoint
    monkeypatch.setenv("NEWSFLOW_PARSER_HTTP_PORT", str(port))
    monkeypatch.setenv("NEWSFLOW_SERVICE", "parser")
    assert healthcheck.main([]) == 0
    state["status"] = 503
    assert healthcheck.main([]) == 1
    monkeypatch.setenv("NEWSFLOW_PARSER_HTTP_PORT", "1")
    assert healthcheck.main(["parser"]) == 1


def test_unknown_service_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_SERVICE", raising=False)
    assert healthcheck.main(["nope"]) == 1


def test_livez_url_uses_the_service_port_setting() -> None:
    assert healthcheck.livez_url("indexer", {}) == "http://127.0.0.1:8104/livez"
    assert healthcheck.livez_url("indexer", {"NEWSFLOW_INDEXER_HTTP_PORT": "9000"}) == "http://127.0.0.1:9000/livez"


def test_service_from_the_running_process(tmp_path: Path) -> None:
    assert healthcheck.service_from_argv(["/opt/newsflow/bin/python3.11", "/opt/newsflow/bin/newsflow", "run", "enrichment"]) == "enrichment"
    assert healthcheck.service_from_argv(["python", "-m", "services.ops.init"]) is None
    assert healthcheck.service_from_argv(["other", "run", "parser"]) is None
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cmdline").write_bytes(b"/usr/bin/tini\0--\0")
    (proc / "7").mkdir()
    (proc / "7" / "cmdline").write_bytes(b"/opt/newsflow/bin/python\0/opt/newsflow/bin/newsflow\0run\0scraper\0")
    assert healthcheck.running_service(proc) == "scraper"

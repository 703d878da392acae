"""`python -m services.ops.healthcheck [SERVICE]`: exit 0 when the service answers /livez with 200.

The container image's HEALTHCHECK. Standard library only, so it starts in a few
tens of milliseconds and never imports the service. Which service: the argument,
else NEWSFLOW_SERVICE, else the `newsflow run <service>` process running in the
container (the image's entrypoint accepts the service as an argument, which a
HEALTHCHECK's environment cannot see). The port is the service's own setting,
NEWSFLOW_<SERVICE>_HTTP_PORT, else its default (8101..8104).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from services.common.service_catalogue import DEFAULT_PORTS


def livez_url(service: str, environ: Mapping[str, str] = os.environ) -> str:
    port = environ.get(f"NEWSFLOW_{service.upper()}_HTTP_PORT") or str(DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{int(port)}/livez"


def service_from_argv(argv: list[str]) -> str | None:
    """`... newsflow run parser` → "parser" (None for anything else)."""
    for i, arg in enumerate(argv[:-1]):
        if arg == "run" and argv[i + 1] in DEFAULT_PORTS and any(a.endswith("newsflow") for a in argv[:i]):
            return argv[i + 1]
    return None


def running_service(proc: Path = Path("/proc")) -> str | None:
    for cmdline in sorted(proc.glob("[0-9]*/cmdline")):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        service = service_from_argv([a for a in argv if a])
        if service:
            return service
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    service = (argv[0] if argv else None) or os.environ.get("NEWSFLOW_SERVICE") or running_service()
    if service not in DEFAULT_PORTS:
        print(f"healthcheck: which service? got {service!r}; pass one of {', '.join(DEFAULT_PORTS)} or set NEWSFLOW_SERVICE",
              file=sys.stderr)
        return 1
    url = livez_url(service)
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"healthcheck: {url} answered {exc.code}", file=sys.stderr)
    except OSError as exc:
        print(f"healthcheck: {url} unreachable: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Refusing to fetch internal addresses (SSRF protection).

A feed can point anywhere, including at the cloud metadata service or the Kafka
broker next door. Unless a source explicitly allows private addresses, the
scraper refuses loopback, private, link-local (169.254.0.0/16, where metadata
services live), carrier-grade NAT, multicast, reserved and unspecified addresses.

The check runs on the addresses DNS actually returned, inside the resolver the
HTTP client connects with, so a hostname that resolves to 127.0.0.1 and a
redirect to http://169.254.169.254/ are both caught, and there is no window
between checking and connecting (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class ForbiddenAddress(OSError):
    """The target resolves to an address this source may not fetch."""


def is_forbidden_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
        or getattr(ip, "is_site_local", False)
    )


def check_host(host: str, allow_private: bool) -> None:
    """Reject hosts that are internal by name or literal address, before any lookup."""
    if allow_private:
        return
    lowered = host.lower().rstrip(".")
    if lowered in METADATA_HOSTS or lowered == "localhost" or lowered.endswith(".localhost"):
        raise ForbiddenAddress(f"{host} is an internal host name")
    try:
        ipaddress.ip_address(lowered.strip("[]"))
    except ValueError:
        return
    if is_forbidden_ip(lowered.strip("[]")):
        raise ForbiddenAddress(f"{host} is a loopback, private, link-local or reserved address")


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops forbidden addresses from every answer.

    `allow_private=True` makes it a plain resolver (for sources that opt in).
    `pinned` maps host names to addresses the operator chose (like curl's
    --resolve or /etc/hosts): those answers are trusted as configured, so a site
    reached over a private network can be crawled without opening every private
    address to every feed. Redirects and links to other hosts are still checked.
    """

    def __init__(self, allow_private: bool = False, pinned: dict[str, str] | None = None) -> None:
        self.allow_private = allow_private
        self.pinned = {k.lower(): v for k, v in (pinned or {}).items()}
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        address = self.pinned.get(host.lower().rstrip("."))
        if address is not None:
            return [ResolveResult(hostname=host, host=address, port=port, family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                                  proto=0, flags=socket.AI_NUMERICHOST)]
        check_host(host, self.allow_private)
        results = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return results
        allowed = [r for r in results if not is_forbidden_ip(r["host"])]
        if not allowed:
            addresses = ", ".join(sorted({r["host"] for r in results}))
            raise ForbiddenAddress(f"{host} resolves only to internal addresses ({addresses})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def parse_pinned_hosts(value: str | None) -> dict[str, str]:
    """'news.test=10.0.0.5,cdn.test=10.0.0.6' → {'news.test': '10.0.0.5', …}; bad entries raise ValueError."""
    pinned: dict[str, str] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, _, address = item.partition("=")
        ipaddress.ip_address(address.strip())
        pinned[host.strip().lower()] = address.strip()
    return pinned

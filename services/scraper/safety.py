"""Refusing to fetch internal addresses (SSRF protection), in two tiers.

A feed, a sitemap or a redirect can point anywhere, including at the cloud metadata
service or the Kafka broker next door.

- **Never reachable**, whatever a source says: link-local (169.254.0.0/16, fe80::/10,
  where metadata services live), cloud-metadata addresses and names (169.254.169.254,
  fd00:ec2::254, 100.100.100.200, 192.0.0.192, metadata.google.internal, …),
  0.0.0.0/8 and ::, multicast, broadcast, 198.18.0.0/15, 240.0.0.0/4, documentation
  and other special-purpose ranges, and every IPv6 form that embeds one of those
  (IPv4-mapped, IPv4-compatible, 6to4 2002::/16, NAT64 64:ff9b::/96 and
  64:ff9b:1::/48, Teredo).
- **Reachable only when the source allows private addresses** (an intranet or test
  source): loopback, the private ranges (10/8, 172.16/12, 192.168/16, fc00::/7),
  carrier-grade NAT (100.64/10) and `localhost` names.

The check runs on the addresses DNS actually returned, inside the resolver the HTTP
client connects with, so a hostname that resolves to 127.0.0.1 and a redirect to
http://169.254.169.254/ are both caught, and there is no window between checking and
connecting (DNS rebinding). Literal addresses and names are also checked before a URL
becomes a task (`check_host`).
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names of metadata services (and their search-domain short forms), refused always.
METADATA_HOSTS = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.internal", "metadata.platformequinix.com", "metadata.tencentyun.com",
})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.253", "fd00:ec2::254", "fd00:ec2::23",
    "100.100.100.200", "192.0.0.192", "168.63.129.16",
))

_ALWAYS_V4 = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",          # "this network"; 0.0.0.0 reaches the local host on Linux
    "169.254.0.0/16",     # link-local: metadata services
    "192.0.0.0/24",       # IETF protocol assignments
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
    "192.88.99.0/24",     # 6to4 relay anycast
    "198.18.0.0/15",      # benchmarking
    "224.0.0.0/4",        # multicast
    "240.0.0.0/4",        # reserved, and 255.255.255.255 broadcast
))
_ALWAYS_V6 = tuple(ipaddress.ip_network(n) for n in (
    "::/128", "fe80::/10", "fec0::/10",   # unspecified, link-local, old site-local
    "ff00::/8",                           # multicast
    "100::/64",                           # discard
    "2001:db8::/32", "3fff::/20",         # documentation
    "2001:10::/28", "2001:20::/28",       # ORCHID
    "5f00::/16",                          # segment routing SIDs
))
_PRIVATE_V4 = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
_PRIVATE_V6 = tuple(ipaddress.ip_network(n) for n in ("::1/128", "fc00::/7"))
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_COMPAT = ipaddress.ip_network("::/96")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_TEREDO = ipaddress.ip_network("2001::/32")

ALWAYS = "always"
PRIVATE = "private"
PUBLIC = "public"


class ForbiddenAddress(OSError):
    """The target is, or resolves to, an address this source may not fetch."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if ip in _MAPPED:
        return ip.ipv4_mapped
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    if ip in _TEREDO:
        return ip.teredo[1] if ip.teredo else None
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _COMPAT and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify_ip(address: str | IP) -> str:
    """`always` (never fetched), `private` (only for sources that allow it) or `public`.

    An address that does not parse counts as `always`: refuse what cannot be checked.
    """
    try:
        ip = address if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else ipaddress.ip_address(str(address).strip("[]").split("%")[0])
    except ValueError:
        return ALWAYS
    if ip in METADATA_ADDRESSES:
        return ALWAYS
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            # An embedding is never more trusted than the address it carries; 6to4 and
            # NAT64 of a private address reach a private host through a translator.
            return classify_ip(inner)
        if any(ip in net for net in _ALWAYS_V6):
            return ALWAYS
        if any(ip in net for net in _PRIVATE_V6):
            return PRIVATE
        return PUBLIC if ip.is_global else ALWAYS
    if any(ip in net for net in _ALWAYS_V4):
        return ALWAYS
    if any(ip in net for net in _PRIVATE_V4):
        return PRIVATE
    return PUBLIC if ip.is_global else ALWAYS


def is_forbidden_ip(address: str, allow_private: bool = False) -> bool:
    kind = classify_ip(address)
    return kind == ALWAYS or (kind == PRIVATE and not allow_private)


def check_host(host: str, allow_private: bool) -> None:
    """Refuse hosts that are internal by name or literal address, before any lookup.

    Raises ForbiddenAddress. Metadata names and never-reachable addresses are refused
    even when `allow_private` is true.
    """
    lowered = host.lower().rstrip(".").strip("[]")
    if not lowered:
        raise ForbiddenAddress("empty host name")
    if lowered in METADATA_HOSTS:
        raise ForbiddenAddress(f"{host} is a cloud metadata host name")
    try:
        ip = ipaddress.ip_address(lowered.split("%")[0])
    except ValueError:
        ip = _legacy_ipv4(lowered)
        if ip is None:
            if not allow_private and (lowered == "localhost" or lowered.endswith(".localhost")):
                raise ForbiddenAddress(f"{host} is a loopback host name") from None
            return
    kind = classify_ip(ip)
    if kind == ALWAYS:
        raise ForbiddenAddress(f"{host} is a link-local, metadata, reserved or special-purpose address (never fetched)")
    if kind == PRIVATE and not allow_private:
        raise ForbiddenAddress(f"{host} is a loopback or private address")


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Shorthand IPv4 spellings resolvers accept: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part, 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number) if number < 2**32 else None


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops forbidden addresses from every answer.

    `allow_private=True` admits loopback and private answers (for sources that opt in),
    never link-local, metadata or special-purpose ones. `pinned` maps host names to
    addresses the operator chose (like curl's --resolve or /etc/hosts): those answers
    are trusted as configured unless they are never-reachable addresses, so a site
    reached over a private network can be crawled without opening every private
    address to every feed.
    """

    def __init__(self, allow_private: bool = False, pinned: dict[str, str] | None = None) -> None:
        self.allow_private = allow_private
        self.pinned = {k.lower(): v for k, v in (pinned or {}).items()}
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        address = self.pinned.get(host.lower().rstrip("."))
        if address is not None:
            if classify_ip(address) == ALWAYS:
                raise ForbiddenAddress(f"{host} is pinned to {address}, a never-reachable address")
            return [ResolveResult(hostname=host, host=address, port=port, family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                                  proto=0, flags=socket.AI_NUMERICHOST)]
        check_host(host, self.allow_private)
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if not is_forbidden_ip(r["host"], self.allow_private)]
        if not allowed:
            addresses = ", ".join(sorted({r["host"] for r in results}))
            raise ForbiddenAddress(f"{host} resolves only to addresses this source may not fetch ({addresses})")
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

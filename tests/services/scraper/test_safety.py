"""The address guard: what a source may open up (private ranges) and what it never can."""

import pytest

from services.scraper.safety import ALWAYS, PRIVATE, PUBLIC, ForbiddenAddress, check_host, classify_ip, is_forbidden_ip

NEVER = [
    "169.254.169.254", "169.254.170.2", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
    "0.0.0.0", "0.1.2.3", "::", "224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255", "240.0.0.1",
    "198.18.0.1", "198.19.255.254", "192.0.2.1", "2001:db8::1",
    # IPv6 spellings of never-reachable IPv4 addresses
    "::ffff:169.254.169.254", "::169.254.169.254", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe",
    "2002:0000:0001::1",
]
PRIVATE_ONLY = [
    "127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.5.5", "192.168.0.1", "100.64.0.1", "::1", "fc00::1", "fd12:3456::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "2002:0a00:0001::1", "64:ff9b::7f00:1",
]


@pytest.mark.parametrize("ip", NEVER)
def test_link_local_metadata_and_special_ranges_are_refused_even_for_private_sources(ip: str) -> None:
    assert classify_ip(ip) == ALWAYS
    assert is_forbidden_ip(ip, allow_private=True)
    with pytest.raises(ForbiddenAddress):
        check_host(ip if ":" not in ip else f"[{ip}]", allow_private=True)


@pytest.mark.parametrize("ip", PRIVATE_ONLY)
def test_loopback_and_private_ranges_open_only_for_sources_that_allow_them(ip: str) -> None:
    assert classify_ip(ip) == PRIVATE
    assert is_forbidden_ip(ip, allow_private=False)
    assert not is_forbidden_ip(ip, allow_private=True)
    check_host(ip, allow_private=True)
    with pytest.raises(ForbiddenAddress):
        check_host(ip, allow_private=False)


@pytest.mark.parametrize("ip", ["93.184.216.34", "2a00:1450:4001:80b::200e", "2002:5db8:d822::1", "64:ff9b::5db8:d822"])
def test_public_addresses_and_their_embeddings_are_allowed(ip: str) -> None:
    assert classify_ip(ip) == PUBLIC
    check_host(ip, allow_private=False)


@pytest.mark.parametrize("name", ["metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "metadata", "instance-data", "metadata.azure.internal"])
def test_metadata_names_are_refused_even_for_private_sources(name: str) -> None:
    with pytest.raises(ForbiddenAddress):
        check_host(name, allow_private=True)


@pytest.mark.parametrize("spelling", ["2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "0x7f.1"])
def test_shorthand_ipv4_spellings_are_checked_like_dotted_ones(spelling: str) -> None:
    with pytest.raises(ForbiddenAddress):
        check_host(spelling, allow_private=False)


def test_an_address_that_does_not_parse_counts_as_never_reachable() -> None:
    assert classify_ip("not-an-address") == ALWAYS


def test_localhost_names_are_private() -> None:
    with pytest.raises(ForbiddenAddress):
        check_host("localhost", allow_private=False)
    with pytest.raises(ForbiddenAddress):
        check_host("api.localhost", allow_private=False)
    check_host("localhost", allow_private=True)
    check_host("news.example", allow_private=False)

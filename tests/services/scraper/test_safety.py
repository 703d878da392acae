import pytest

from services.scraper.safety import ForbiddenAddress, check_host, is_forbidden_ip


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "169.254.169.254", "::1", "fe80::1", "100.64.0.1", "0.0.0.0", "::ffff:127.0.0.1"])
def test_internal_addresses_are_forbidden(ip: str) -> None:
    assert is_forbidden_ip(ip)


def test_public_addresses_are_allowed() -> None:
    assert not is_forbidden_ip("93.184.216.34")


def test_host_checks_respect_the_sources_opt_in() -> None:
    with pytest.raises(ForbiddenAddress):
        check_host("169.254.169.254", allow_private=False)
    with pytest.raises(ForbiddenAddress):
        check_host("metadata.google.internal", allow_private=False)
    check_host("127.0.0.1", allow_private=True)
    check_host("news.example", allow_private=False)

from services.scraper.urls import canonicalize, host_key


def test_tracking_parameters_fragments_and_default_ports_are_dropped() -> None:
    assert canonicalize("HTTPS://News.Example:443/a/b/?utm_source=x&id=2&fbclid=y#comments") == "https://news.example/a/b/?id=2"


def test_http_and_https_share_one_canonical_form() -> None:
    assert canonicalize("http://news.example/a/") == canonicalize("https://news.example/a/")
    assert canonicalize("http://news.example/a/", prefer_https=False) == "http://news.example/a/"


def test_query_order_and_percent_encoding_are_normalised() -> None:
    assert canonicalize("https://n.example/%7Ea/./b/../c?b=2&a=1") == "https://n.example/~a/c?a=1&b=2"


def test_trailing_slash_policy() -> None:
    assert canonicalize("https://n.example/a/", keep_trailing_slash=False) == "https://n.example/a"
    assert canonicalize("https://n.example/a/") == "https://n.example/a/"


def test_non_default_port_is_part_of_the_host_key() -> None:
    assert host_key("http://127.0.0.1:8800/x") == "127.0.0.1:8800"
    assert host_key("https://n.example:443/x") == "n.example"


def test_non_http_urls_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError):
        canonicalize("ftp://n.example/file")

import pytest

from schemas.sources import SourcesError, load_sources, parse_sources


def test_a_valid_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - name: vestnik\n    feeds: [https://vestnik.example/rss.xml]\n    timezone: Europe/Moscow\n")
    sources = load_sources(path)
    assert sources.sources[0].allowed_domains == ["vestnik.example"]
    assert sources.source_for_host("www.vestnik.example").name == "vestnik"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sources": [{"name": "x", "feeds": ["not a url"]}]}, "sources.0.feeds"),
        ({"sources": [{"name": "x", "timezone": "Mars/Olympus"}]}, "sources.0.timezone"),
        ({"sources": [{"name": "x", "politeness": {"min_delay": -1}}]}, "sources.0.politeness.min_delay"),
        ({"sources": [{"name": "x", "colour": "red"}]}, "sources.0.colour"),
        ({"sources": [{"name": "a"}, {"name": "a"}]}, "repeated: a"),
    ],
)
def test_errors_name_the_bad_field(body, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SourcesError) as err:
        parse_sources(body, "sources.yaml")
    assert field in str(err.value)


def test_missing_and_broken_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SourcesError, match="cannot read"):
        load_sources(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n")
    with pytest.raises(SourcesError, match="not valid YAML"):
        load_sources(bad)

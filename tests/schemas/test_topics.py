"""The topic catalogue is consistent."""

from schemas.topics import CATALOGUE, STORY_ASSIGNMENT, topic_name


def test_topic_names_are_unique_and_versioned() -> None:
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(name.startswith("news.") and name.rsplit(".", 1)[-1].startswith("v") for name in names)


def test_story_assignment_is_a_single_partition() -> None:
    assert STORY_ASSIGNMENT.partitions == 1


def test_namespace_prefixes_the_name() -> None:
    assert topic_name(CATALOGUE[0], "t1") == f"t1.{CATALOGUE[0].name}"
    assert topic_name(CATALOGUE[0]) == CATALOGUE[0].name

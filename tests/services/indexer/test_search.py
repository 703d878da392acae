"""The queries `newsflow search` sends: plain arguments in, Elasticsearch request bodies out."""

from __future__ import annotations

from services.indexer.search import build_search, build_top


def test_no_arguments_match_everything() -> None:
    assert build_search() == {"bool": {"must": [{"match_all": {}}], "filter": []}}


def test_words_search_title_lead_body_and_quotes() -> None:
    [clause] = build_search("мост")["bool"]["must"]
    should = clause["bool"]["should"]
    assert should[0] == {"multi_match": {"query": "мост", "fields": ["title^3", "lead^2", "body"]}}
    assert should[1]["nested"]["path"] == "quotes" and should[1]["nested"]["query"] == {"match": {"quotes.text": "мост"}}
    assert clause["bool"]["minimum_should_match"] == 1


def test_a_phrase_is_one_phrase_query() -> None:
    assert build_search("north south", phrase=True)["bool"]["must"] == [
        {"multi_match": {"query": "north south", "type": "phrase", "fields": ["title", "lead", "body"]}}
    ]


def test_every_filter_is_a_filter_not_a_score() -> None:
    query = build_search(source="vestnik", language="ru", person="Владимир Путин", organization="ООН", location="Баку",
                         story="s1", since="2025-10-01", quoted="Алиев")
    filters = query["bool"]["filter"]
    assert {"term": {"source": "vestnik"}} in filters and {"term": {"language": "ru"}} in filters
    assert {"term": {"persons": "Владимир Путин"}} in filters and {"term": {"organizations": "ООН"}} in filters
    assert {"term": {"locations": "Баку"}} in filters and {"term": {"story_id": "s1"}} in filters
    assert {"range": {"published_at": {"gte": "2025-10-01"}}} in filters, "an open end is left out"
    assert {"nested": {"path": "quotes", "query": {"term": {"quotes.speaker": "Алиев"}}}} in filters
    assert len(filters) == 8 and query["bool"]["must"] == [{"match_all": {}}]


def test_a_date_range_with_both_ends() -> None:
    [bounds] = build_search(since="2025-10-01", until="2025-10-31")["bool"]["filter"]
    assert bounds == {"range": {"published_at": {"gte": "2025-10-01", "lte": "2025-10-31"}}}


def test_top_values_of_a_facet() -> None:
    assert build_top("persons", 5) == {"top": {"terms": {"field": "persons", "size": 5}}}

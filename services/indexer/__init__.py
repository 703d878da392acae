"""The indexer: enriched articles into Elasticsearch, exactly once in effect."""

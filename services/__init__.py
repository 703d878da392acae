"""The newsflow services: scraper → parser → enrichment → indexer, and what they share."""

__version__ = "0.1.0"

"""The scraper: feeds, sitemaps and pages, fetched politely, published as raw page events."""

"""Enrichment: language, entities, quotes, lemmas, keywords and story clusters."""

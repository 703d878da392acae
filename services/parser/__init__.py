"""The parser: raw pages in, structured articles with per-field provenance out."""

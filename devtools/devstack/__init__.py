"""The local Kafka + Elasticsearch stack used by `make demo`, `make test` and developers."""

"""What the four services share: settings, Kafka/HTTP wiring, dead letters, metrics, logs."""

"""The live path: the `match-results` event stream (Redis Streams or Kafka) and its consumer into bronze."""

"""Ingestion of Oracle's Elixir files (every layout) into the bronze Iceberg tables."""

"""Dagster software-defined assets, one module per lakehouse layer."""

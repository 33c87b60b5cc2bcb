"""Iceberg catalog access, table definitions and read-only SQL."""

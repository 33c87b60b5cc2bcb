"""Outscaled domain code shared by the assets, the CLI and the prediction service."""

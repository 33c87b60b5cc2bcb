"""Stat-line distributions, win probability, backtests and the model registry."""

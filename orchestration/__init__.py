"""Dagster wiring: resources, jobs, schedules, sensors and the one `Definitions` object."""

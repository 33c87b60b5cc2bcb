"""Schedules: weekly retraining."""

from dagster import ScheduleDefinition

from orchestration.jobs import retrain_job

weekly_retrain_schedule = ScheduleDefinition(
    name="weekly_retrain", job=retrain_job, cron_schedule="0 6 * * 1", execution_timezone="UTC",
    description="Retrain every Monday 06:00 UTC (transforms, backtest, training, promotion gate).")

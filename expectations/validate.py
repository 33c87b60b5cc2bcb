"""Run a suite on a DataFrame with an ephemeral GX context and summarise what failed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from expectations.suites import Suite

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")  # GX's per-validation progress bars would flood the run logs


@dataclass
class FailedExpectation:
    expectation: str
    column: str
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: list


@dataclass
class ValidationSummary:
    suite: str
    success: bool
    evaluated: int
    rows: int
    failures: list[FailedExpectation] = field(default_factory=list)


def validate(frame: pd.DataFrame, suite: Suite) -> ValidationSummary:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:  # GX prints a progress bar per validation otherwise, flooding the run logs
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except (ImportError, AttributeError):
        pass
    source = context.data_sources.add_pandas(f"outscaled_{suite.name}")
    asset = source.add_dataframe_asset(name=suite.name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": suite.prepare(frame)})
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=suite.expectations())
    result = batch.validate(gx_suite, result_format="SUMMARY")
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        kwargs = config.kwargs
        details = item.result or {}
        column = kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or \
            f"{kwargs.get('column_A')},{kwargs.get('column_B')}"
        failures.append(FailedExpectation(
            expectation=config.type, column=column,
            unexpected_count=details.get("unexpected_count"),
            unexpected_percent=details.get("unexpected_percent"),
            examples=[str(v) for v in (details.get("partial_unexpected_list") or [])[:5]],
        ))
    return ValidationSummary(suite=suite.name, success=bool(result.success), evaluated=len(result.results),
                             rows=len(frame), failures=failures)

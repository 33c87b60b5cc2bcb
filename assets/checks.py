"""Great Expectations suites as blocking asset checks, next to the assets they guard."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from assets.resources import LakehouseResource
from expectations.suites import SUITES, Suite
from expectations.validate import validate
from outscaled.lakehouse.loads import scan_as_of_cut


def _check_result(lakehouse: LakehouseResource, suite: Suite) -> AssetCheckResult:
    # bronze as the newest complete load left it (what dbt reads next), other tables as they are
    frame: pd.DataFrame = scan_as_of_cut(lakehouse.catalog(), suite.table, tuple(suite.columns)).to_pandas()
    summary = validate(frame, suite)
    failures = [{"expectation": f.expectation, "column": f.column, "unexpected_count": f.unexpected_count,
                 "unexpected_percent": f.unexpected_percent, "examples": f.examples} for f in summary.failures]
    return AssetCheckResult(
        passed=summary.success,
        severity=AssetCheckSeverity.ERROR,
        description=(f"{summary.evaluated - len(failures)}/{summary.evaluated} expectations met on {summary.rows} rows"),
        metadata={"suite": summary.suite, "rows": summary.rows, "expectations": summary.evaluated,
                  "failed": len(failures), "failures": MetadataValue.json(failures)},
    )


def _make_check(identifier: str):
    suite = SUITES[identifier]
    namespace, name = identifier.split(".")

    @asset_check(asset=AssetKey([namespace, name]), name=f"gx_{suite.name}", blocking=True,
                 description=f"Great Expectations suite {suite.name}; failures block downstream assets.")
    def _check(lakehouse: LakehouseResource) -> AssetCheckResult:
        return _check_result(lakehouse, suite)

    return _check


gx_checks = [_make_check(identifier) for identifier in SUITES]

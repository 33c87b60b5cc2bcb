"""Great Expectations suites as blocking asset checks, next to the assets they guard.

A suite whose rules are all about one game (bronze) validates the games written since the snapshot its
last passing evaluation validated, with every stored row of those games (outscaled.lakehouse.increments);
a failed evaluation leaves that mark where it was, so the next one validates the failing games again.
Without a passing evaluation, or where the table's lineage no longer reaches it, the whole table.
"""

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetCheckExecutionContext, AssetCheckKey, AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue,
    asset_check,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from assets.resources import LakehouseResource
from expectations.suites import SUITES, Suite
from expectations.validate import validate
from outscaled.lakehouse.increments import rows_of_games_written_between
from outscaled.lakehouse.loads import reader_snapshot, scan_as_of_cut

VALIDATED_SNAPSHOT = "validated_snapshot_id"


def last_passing_snapshot(context: AssetCheckExecutionContext, key: AssetCheckKey) -> int | None:
    """The table snapshot the newest passing evaluation of this check validated (None: none recorded)."""
    records = context.instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, status={AssetCheckExecutionRecordStatus.SUCCEEDED})
    for record in records:
        evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event \
            else None
        value = (getattr(evaluation, "metadata", None) or {}).get(VALIDATED_SNAPSHOT)
        if value is not None and str(value.value).isdigit():
            return int(value.value)
    return None


def rows_to_validate(lakehouse: LakehouseResource, suite: Suite, since: int | None) -> tuple[pa.Table, int | None, str]:
    """(rows, the snapshot they are read at, what they are): the games written since `since` where the suite
    allows it and the lineage says which, the whole table as readers see it otherwise."""
    catalog = lakehouse.catalog()
    pinned, snapshot_id = reader_snapshot(catalog, suite.table)
    if suite.game_key and pinned and since is not None and snapshot_id is not None:
        rows = rows_of_games_written_between(catalog.load_table(suite.table), since, snapshot_id,
                                             tuple(suite.columns), suite.game_key)
        if rows is not None:
            return rows, snapshot_id, f"the games written since snapshot {since}"
    return scan_as_of_cut(catalog, suite.table, tuple(suite.columns)), snapshot_id, "the whole table"


def check_result(context: AssetCheckExecutionContext, lakehouse: LakehouseResource, suite: Suite,
                 key: AssetCheckKey) -> AssetCheckResult:
    since = last_passing_snapshot(context, key) if suite.game_key else None
    rows, snapshot_id, scope = rows_to_validate(lakehouse, suite, since)
    marker = {VALIDATED_SNAPSHOT: str(snapshot_id)} if snapshot_id is not None else {}
    if rows.num_rows == 0 and scope != "the whole table":
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.ERROR,
                                description=f"no rows to validate: nothing written since snapshot {since}",
                                metadata={"suite": suite.name, "rows": 0, "validated": scope, **marker})
    frame: pd.DataFrame = rows.to_pandas()
    summary = validate(frame, suite)
    failures = [{"expectation": f.expectation, "column": f.column, "unexpected_count": f.unexpected_count,
                 "unexpected_percent": f.unexpected_percent, "examples": f.examples} for f in summary.failures]
    return AssetCheckResult(
        passed=summary.success,
        severity=AssetCheckSeverity.ERROR,
        description=(f"{summary.evaluated - len(failures)}/{summary.evaluated} expectations met on {summary.rows} "
                     f"rows ({scope})"),
        metadata={"suite": summary.suite, "rows": summary.rows, "expectations": summary.evaluated,
                  "failed": len(failures), "failures": MetadataValue.json(failures), "validated": scope, **marker},
    )


def _make_check(identifier: str):
    suite = SUITES[identifier]
    namespace, name = identifier.split(".")
    check_name = f"gx_{suite.name}"
    key = AssetCheckKey(AssetKey([namespace, name]), check_name)

    @asset_check(asset=AssetKey([namespace, name]), name=check_name, blocking=True,
                 description=f"Great Expectations suite {suite.name}; failures block downstream assets.")
    def _check(context: AssetCheckExecutionContext, lakehouse: LakehouseResource) -> AssetCheckResult:
        return check_result(context, lakehouse, suite, key)

    return _check


gx_checks = [_make_check(identifier) for identifier in SUITES]

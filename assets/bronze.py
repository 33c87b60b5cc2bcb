"""Bronze: raw Oracle's Elixir files landed unchanged, then typed, validated and de-duplicated in Iceberg."""


from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, Config, MaterializeResult, MetadataValue, multi_asset

from assets.resources import LakehouseResource
from outscaled.ingest.pipeline import IngestReport, ingest_paths, ingest_pending
from outscaled.lakehouse.tables import DRAFTS, LOADS, PLAYER_GAMES, QUARANTINE, SOURCE_FILES, TEAM_GAMES

BRONZE_TABLES = {"player_games": PLAYER_GAMES, "team_games": TEAM_GAMES, "drafts": DRAFTS,
                 "quarantine": QUARANTINE, "source_files": SOURCE_FILES, "loads": LOADS}
DESCRIPTIONS = {
    "player_games": "One row per player per game (10 per game), every Oracle's Elixir layout, stored once per game.",
    "team_games": "One row per team per game (2 per game).",
    "drafts": "Picks by role and bans per game (reduced drafts file), for champion meta features.",
    "quarantine": "Rows that broke a game invariant, with reason, source file and line.",
    "source_files": "Ledger of ingested files by checksum: layout, rows read, written and quarantined.",
    "loads": "Load log: a started row per load, then a complete row with every bronze table's snapshot id; "
             "readers read bronze as the newest complete row left it.",
}


class BronzeIngestConfig(Config):
    """`paths`: files or folders to land and ingest; empty means everything landed but not yet ingested.
    `date_orders`: per file name, "dmy" or "mdy" for files whose slashed dates cannot be decided."""

    paths: list[str] = []
    date_orders: dict[str, str] = {}
    # Instead of files: consume the match-results stream (OUTSCALED_STREAM) until it has been idle this many
    # seconds; each micro-batch is landed, ingested, then acknowledged (outscaled/stream/consumer.py).
    from_stream: bool = False
    stream_idle_seconds: float = 2.0


@multi_asset(
    specs=[AssetSpec(AssetKey(["bronze", name]), description=DESCRIPTIONS[name], group_name="bronze",
                     kinds={"iceberg", "polars"}) for name in BRONZE_TABLES],
    can_subset=False,
)
def bronze_ingest(context: AssetExecutionContext, config: BronzeIngestConfig, lakehouse: LakehouseResource):
    catalog = lakehouse.catalog()
    landing = Path(lakehouse.landing_dir)
    date_orders = dict(config.date_orders)
    if config.from_stream:
        from outscaled.config import load_settings
        from outscaled.stream.consumer import consume

        totals = consume(load_settings(), idle_s=config.stream_idle_seconds,
                         on_batch=lambda b: context.log.info(f"stream batch: {b.events} events, {b.seconds:.1f}s"))
        report = totals.combined(context.run.run_id)
        context.log.info(f"consumed {totals.events} events ({totals.games_added} new games); "
                         f"backlog {totals.backlog}")
    elif config.paths:
        report = ingest_paths(catalog, landing, [Path(p) for p in config.paths], context.run.run_id, date_orders,
                              progress=context.log.info)
    else:
        report = ingest_pending(catalog, landing, context.run.run_id, date_orders, progress=context.log.info)
    for warning in report.warnings:
        context.log.warning(warning)
    for name, definition in BRONZE_TABLES.items():
        yield MaterializeResult(asset_key=AssetKey(["bronze", name]),
                                metadata=_metadata(name, report, catalog.load_table(definition.identifier)))


def _metadata(name: str, report: IngestReport, table) -> dict[str, object]:
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot else None
    metadata: dict[str, object] = {
        "table": table.name()[-2] + "." + table.name()[-1] if len(table.name()) >= 2 else str(table.name()),
        "total_rows": int(summary["total-records"]) if summary and "total-records" in summary else 0,
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else "none",
        "files_ingested": MetadataValue.json(report.files_ingested),
        "files_skipped_already_ingested": MetadataValue.json(report.files_skipped),
        "files_resumed_from_an_interrupted_load": MetadataValue.json(report.files_resumed),
        "warnings": MetadataValue.json(report.warnings),
        "quarantined_rows_this_run": report.quarantined_rows,
    }
    merge = report.merges.get(name)
    if merge is not None:
        metadata.update({"rows_written": merge.rows_written, "games_added": merge.games_added,
                         "games_replaced_by_more_complete_source": merge.games_replaced,
                         "partitions_written": MetadataValue.json(merge.partitions_written)})
    if name == "quarantine":
        metadata["quarantine_reasons"] = MetadataValue.json(report.quarantine_reasons)
    return metadata

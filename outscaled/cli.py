"""`outscaled`: the command line for the platform (demo, ingest, materialize, sql, ui)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from outscaled.config import load_settings
from outscaled.runtime import PROJECT_ROOT, SAMPLE_DATA, prepare_dagster_home

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class CommandFailed(RuntimeError):
    """A Dagster run failed: the message is the platform's own error (unwrapped from Dagster's step
    error), `trace` is Dagster's whole error chain with its stack traces, printed only under --debug."""

    def __init__(self, message: str, trace: str = "") -> None:
        super().__init__(message)
        self.trace = trace


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the `outscaled` command itself (tests call main with their arguments, in their process)
        from outscaled.online.lifecycle import honour_stop_signals

        honour_stop_signals()
    # --debug is accepted before the command and after it (`outscaled --debug ingest x`, `outscaled ingest x --debug`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the stack trace of an error above its message")
    parser = argparse.ArgumentParser(prog="outscaled", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **options) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], **options)

    demo = command("demo", help="run the main job on the bundled real data and show the results")
    demo.add_argument("--data", nargs="*", type=Path, default=[SAMPLE_DATA], help="files or folders to use")

    ingest = command("ingest", help="land and ingest Oracle's Elixir files or folders into bronze")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--date-order", action="append", default=[], metavar="FILE=dmy|mdy",
                        help="day/month order for a file whose slashed dates cannot be detected")

    publish = command("publish", help="replay a real file as match-results events (one per game, game-time order)")
    publish.add_argument("path", type=Path)
    publish.add_argument("--speed", type=float, default=None,
                         help="N: wait the real time between two games' starts divided by N (default: no waiting)")
    publish.add_argument("--date-order", choices=("dmy", "mdy"), default=None,
                         help="day/month order when the file's slashed dates cannot be detected")

    consume = command("consume", help="read match-results events into bronze (land, ingest, then acknowledge)")
    consume.add_argument("--idle", type=float, default=5.0,
                         help="stop after this many seconds without an event (default 5)")
    consume.add_argument("--follow", action="store_true", help="keep consuming until stopped (Ctrl-C)")
    consume.add_argument("--batch", type=int, default=None, help="events per micro-batch (default 5000)")
    consume.add_argument("--live", action="store_true",
                         help="after each batch with new games, update the touched players' and teams' state and "
                              "publish a delta snapshot (served within seconds, no dbt rebuild)")

    replay = command("replay", help="walk forward day by day over files: what the service would have said, settled")
    replay.add_argument("--data", action="append", type=Path, required=True, help="file or folder (repeatable)")
    replay.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    replay.add_argument("--to", dest="end", default=None, help="last day, YYYY-MM-DD (default: the files' last)")
    replay.add_argument("--work", type=Path, default=None, help="where the scratch home goes (default: a temp folder)")
    replay.add_argument("--keep", action="store_true", help="keep the scratch home (its logs, its tables)")
    replay.add_argument("--json", action="store_true", help="print the scores as JSON")
    replay.add_argument("--retrain", action="store_true",
                        help="train final models in the scratch home on the games before --from only (a fair test; "
                             "without it the current champions answer, and the replay says when they saw those games)")

    materialize = command("materialize", help="materialize the Dagster assets in-process")
    materialize.add_argument("--select", default="*", help='asset selection, e.g. "group:bronze" (default: all)')

    sql = command("sql", help="run read-only SQL (DuckDB) over the lakehouse tables")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")

    models = command("models", help="list, promote or roll back model versions")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    model_commands.add_parser("list", help="every version per model with status, metrics and reason")
    promote = model_commands.add_parser("promote", help="make VERSION the champion of every model")
    promote.add_argument("version")
    model_commands.add_parser("rollback", help="switch each model back to its previously promoted version")
    split = model_commands.add_parser("split", help="A/B: answer a WEIGHT share of callers of STAT from VERSION "
                                                    "(0 ends the split); --shadow: score VERSION on every request "
                                                    "without returning it")
    split.add_argument("stat", choices=("kills", "deaths", "assists", "cs"))
    split.add_argument("version")
    split.add_argument("weight", type=float)
    split.add_argument("--shadow", action="store_true")

    evaluate = command("evaluate", help="score the champion models on your own files (a scratch copy)")
    evaluate.add_argument("--data", action="append", type=Path, required=True, help="file or folder (repeatable)")
    evaluate.add_argument("--since", required=True, help="score games dated on or after YYYY-MM-DD")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")

    serve = command("serve", help="start the BentoML prediction service on the local defaults")
    serve.add_argument("--port", type=int, default=3001)

    snapshots = command("snapshots", help="list or roll back the Redis feature snapshots")
    snapshot_commands = snapshots.add_subparsers(dest="snapshots_command", required=True)
    snapshot_commands.add_parser("list")
    snapshot_commands.add_parser("rollback", help="switch back to the previous complete snapshot")

    keys = command("keys", help="API keys of the prediction service: create, list, revoke, purge")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="a new key (shown once) with a role")
    create.add_argument("--role", choices=("reader", "admin"), required=True)
    create.add_argument("--name", default="", help="who or what the key is for")
    key_commands.add_parser("list", help="every key: id, name, role, created, revoked (never the secret)")
    revoke = key_commands.add_parser("revoke", help="the key stops working (within seconds on every worker)")
    revoke.add_argument("key", help="the key id (or the whole key)")
    purge = key_commands.add_parser("purge", help="delete every stored prediction row and rate-limit state of a key")
    purge.add_argument("key", help="the key id (or the whole key)")

    analytics = command("analytics", help="run read-only SQL on the analytics store (logged predictions)")
    analytics.add_argument("query")
    analytics.add_argument("--format", choices=("table", "csv", "json"), default="table")

    ui = command("ui", help="open the Dagster UI (dagster dev) on this OUTSCALED_HOME")
    ui.add_argument("--port", type=int, default=3000)

    args = parser.parse_args(argv)
    from outscaled.online.redis_server import embedded_running, stop_embedded

    try:
        settings = load_settings()
        redis_was_running = embedded_running(settings)
    except Exception:  # reported by the command itself below
        settings, redis_was_running = None, True
    try:
        handlers = {"demo": _demo, "ingest": _ingest, "materialize": _materialize, "sql": _sql, "ui": _ui,
                    "models": _models, "evaluate": _evaluate, "serve": _serve, "snapshots": _snapshots,
                    "keys": _keys, "analytics": _analytics,
                    "publish": _publish, "consume": _consume, "replay": _replay}
        return handlers[args.command](args)
    except Exception as error:  # every command ends with the platform's own message; the trace only if asked
        _report(error, debug=getattr(args, "debug", False))
        return 1
    finally:
        # An embedded redis-server this command started is stopped with it (its data is kept on disk,
        # append-only file); one that was already running (e.g. for `outscaled serve`) is left alone.
        if settings and not redis_was_running and embedded_running(settings):
            stop_embedded(settings)


def _report(error: Exception, debug: bool) -> None:
    """The error as the last line(s) on stderr, so that a terminal shows it and a script's `tail` gets it;
    printed as plain text (no markup, no wrapping) because messages hold file names and brackets."""
    if debug:
        sys.stderr.write(getattr(error, "trace", "") or "".join(traceback.format_exception(error)))
        sys.stderr.write("\n")
        sys.stderr.flush()
    message = str(error).strip() or error.__class__.__name__
    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def _keys(args: argparse.Namespace) -> int:
    from outscaled.platform.keys_cli import run  # API keys: outscaled/platform

    return run(args, load_settings(), console)


def _analytics(args: argparse.Namespace) -> int:
    """Read-only SQL on the analytics store (outscaled/analytics), printed like `outscaled sql`; a write
    statement raises ReadOnlyViolation."""
    import polars as pl

    from outscaled.analytics.store import run_query

    frame = pl.from_arrow(run_query(load_settings(), args.query))
    _print_frame(frame.to_frame() if isinstance(frame, pl.Series) else frame, args.format)
    if frame.is_empty():
        console.print("no rows", style="dim")
    return 0


def _date_orders(pairs: list[str]) -> dict[str, str]:
    orders = {}
    for pair in pairs:
        name, _, order = pair.partition("=")
        if order not in ("dmy", "mdy"):
            raise ValueError(f"--date-order expects FILE=dmy or FILE=mdy, got '{pair}'")
        orders[Path(name).name] = order
    return orders


def _run_assets(selection: str, run_config: dict | None = None):
    settings = load_settings()
    prepare_dagster_home(settings)
    import warnings

    from dagster import BetaWarning, DagsterInstance, Definitions, define_asset_job

    warnings.filterwarnings("ignore", category=BetaWarning)

    from orchestration.console_log import concise_console_logger
    from orchestration.definitions import all_asset_checks, all_assets, build_resources
    from outscaled.online.lifecycle import sigterm_kept

    # dagster.materialize() as it is, plus a console log whose failures leave out the stack trace
    # (this command prints the error itself, last, see _report)
    job_name = "__ephemeral_asset_job__"
    definitions = Definitions(jobs=[define_asset_job(job_name, selection=selection)],
                              assets=[*all_assets, *all_asset_checks], resources=build_resources(settings),
                              loggers={"console": concise_console_logger})
    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **(run_config or {})}
    with DagsterInstance.get() as instance, sigterm_kept():  # Dagster would leave SIGTERM as SIGINT is
        result = definitions.resolve_job_def(job_name).execute_in_process(
            run_config=config, instance=instance, raise_on_error=False)
    if not result.success:
        raise _run_failure(result)
    failed_checks = [e.event_specific_data.check_name for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed]
    if failed_checks:
        raise RuntimeError(f"blocking data-quality checks failed: {', '.join(failed_checks)}; downstream assets "
                           "were not materialized (see the check metadata in the Dagster UI)")
    return result


def _run_failure(result) -> CommandFailed:
    """The platform's own error of a failed run: Dagster wraps what an op raised
    (DagsterExecutionStepExecutionError, caused by e.g. IngestError); the event log keeps the chain."""
    failure = next((e for e in result.all_events if e.is_step_failure), None) or next(
        (e for e in result.all_events if e.is_run_failure), None)
    error = getattr(getattr(failure, "event_specific_data", None), "error", None)
    if error is None:
        return CommandFailed(f"the run {result.run_id} failed (see it in the Dagster UI: outscaled ui)")
    own = error
    while own.cls_name.startswith("Dagster") and own.cause is not None:
        own = own.cause
    # the chain stores each error as traceback prints it, "package.module.Class: message"
    head, colon, text = own.message.strip().partition(": ")
    message = text if colon and head.rsplit(".", 1)[-1] == own.cls_name else own.message.strip()
    return CommandFailed(message.strip() or own.cls_name, trace=error.to_string())


def _ingest(args: argparse.Namespace) -> int:
    paths = [str(p.resolve()) for p in args.paths]
    for path in args.paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    started = time.perf_counter()
    run_config = {"ops": {"bronze_ingest": {"config": {"paths": paths, "date_orders": _date_orders(args.date_order)}}}}
    with console.status(f"ingesting {len(paths)} path(s) into bronze…"):
        result = _run_assets("group:bronze", run_config)
    _print_materializations(result, time.perf_counter() - started)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from outscaled.stream.connect import open_stream
    from outscaled.stream.publish import file_events, publish_events

    if not args.path.is_file():
        raise FileNotFoundError(f"{args.path}: no such file")
    if args.speed is not None and args.speed <= 0:
        raise ValueError(f"--speed expects a positive number, got {args.speed}")
    events = file_events(args.path, args.date_order)
    stream = open_stream(load_settings())
    try:
        with console.status(f"publishing {len(events)} games to {stream.topic} ({stream.description})…") as status:
            report = publish_events(stream, events, args.speed, progress=status.update)
        console.print(f"published {report.events} events to {stream.topic} in {report.seconds:.1f}s "
                      f"(games {report.first_game} to {report.last_game}); backlog {stream.backlog()}")
    finally:
        stream.close()
    return 0


def _consume(args: argparse.Namespace) -> int:
    from outscaled.stream.consumer import consume

    settings = load_settings()
    live = None
    if args.live:
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.online.live import LiveServing
        from outscaled.online.redis_server import connect

        live = LiveServing(open_catalog(settings), connect(settings))

    def show(batch) -> None:
        ingest = batch.ingest
        merges = ingest.merges.get("player_games")
        added = merges.games_added if merges else 0
        console.print(f"{'recovered ' if batch.recovered else ''}batch of {batch.events} events: "
                      f"{added} new games, {ingest.quarantined_rows} rows quarantined, {batch.seconds:.1f}s",
                      markup=False)
        if live is not None and (added or batch.recovered):
            refreshed = live.refresh()
            info = refreshed.snapshot
            console.print(f"live: snapshot {info.snapshot_id} ({'delta on ' + info.base if info.base else 'full'}, "
                          f"{info.written} values written) for {refreshed.players} players and {refreshed.teams} "
                          f"teams touched by {refreshed.games_since_build} games since the last build, "
                          f"{refreshed.seconds:.1f}s"
                          + (f"; {len(refreshed.late_games)} late games: Elo approximate until the next build"
                             if refreshed.late_games else ""), markup=False)

    totals = consume(settings, idle_s=None if args.follow else args.idle, batch_events=args.batch, on_batch=show)
    console.print(f"consumed {totals.events} events in {len(totals.batches)} batches; backlog {totals.backlog}")
    return 0


def _day(text: str | None, flag: str):
    from datetime import datetime

    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as error:
        raise ValueError(f"{flag} expects YYYY-MM-DD, got '{text}'") from error


def _replay(args: argparse.Namespace) -> int:
    from outscaled.replay import replay

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    for path in args.data:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    result, rows = replay(load_settings(), [p.resolve() for p in args.data], start, end, args.work, args.keep,
                          progress=lambda m: console.print(m, markup=False), retrain=args.retrain)
    if args.json:
        sys.stdout.write(json.dumps({"days": result.days, "scores": rows}) + "\n")
        return 0
    table = Table(title=f"replay {args.start} to {args.end or 'the end'}: the service before each day, settled")
    for column in ("what", "asked", "coverage", "log_loss", "ece", "accuracy", "baseline", "b_log_loss", "b_ece",
                   "b_accuracy"):
        table.add_column(column)
    for row in rows:
        model, baseline = row["model"], row["baseline"]
        cell = lambda scores, k: f"{scores[k]:.4f}" if k in scores else ""  # noqa: E731
        table.add_row(row["what"], str(row["asked"]), f"{row['coverage']:.3f}", cell(model, "log_loss"),
                      cell(model, "ece"), cell(model, "accuracy"), row["baseline_name"], cell(baseline, "log_loss"),
                      cell(baseline, "ece"), cell(baseline, "accuracy"))
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    served = [d["served_s"] for d in result.days if d["served_s"] is not None]
    console.print(f"{len(result.days)} days; freshness (day's games published -> served): "
                  + (f"median {sorted(served)[len(served) // 2]:.1f} s, max {max(served):.1f} s" if served else "none")
                  + (f"; {len(result.days) - len(served)} days not served in time" if len(served) < len(result.days)
                     else ""))
    return 0


def _materialize(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with console.status(f"materializing {args.select}…"):
        result = _run_assets(args.select)
    _print_materializations(result, time.perf_counter() - started)
    return 0


def _warnings(result) -> list[str]:
    """The assets' warnings of a run, once each (every bronze table's materialization carries them)."""
    seen: dict[str, None] = {}
    for event in result.get_asset_materialization_events():
        value = event.event_specific_data.materialization.metadata.get("warnings")
        seen.update(dict.fromkeys(value.value if value is not None else []))
    return list(seen)


def _print_materializations(result, seconds: float) -> None:
    table = Table(title=f"materialized in {seconds:.1f}s (run {result.run_id[:8]})")
    for column in ("asset", "rows written", "total rows", "partitions written"):
        table.add_column(column)
    catalog = None
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        key = materialization.asset_key.path
        meta = {k: v.value for k, v in materialization.metadata.items()}
        if key[0] in ("models", "online"):
            note = meta.get("version") or meta.get("snapshot_id") or (f"{meta['months']} months" if "months" in meta else "")
            table.add_row("/".join(key), "", str(note), "")
            continue
        if key[0] not in ("bronze", "silver", "gold"):
            continue  # engine-only dbt models (staging, intermediate) are not lakehouse tables
        total = meta.get("total_rows")
        if total is None:
            from outscaled.lakehouse.catalog import open_catalog

            catalog = catalog or open_catalog(load_settings())
            snapshot = catalog.load_table(".".join(key)).current_snapshot()
            total = snapshot.summary["total-records"] if snapshot and snapshot.summary else ""
        partitions = meta.get("partitions_written")
        table.add_row("/".join(key), str(meta.get("rows_written", "")), str(total),
                      str(len(partitions)) if partitions is not None else "")
    console.print(table)
    for warning in _warnings(result):  # e.g. a header-only file, not recorded as ingested
        console.print(f"warning: {warning}", style="yellow", markup=False)
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    if checks:
        failed = [c.check_name for c in checks if not c.passed]
        console.print(f"asset checks: {len(checks) - len(failed)}/{len(checks)} passed"
                      + (f"; failed: {', '.join(failed)}" if failed else ""))


def _sql(args: argparse.Namespace) -> int:
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.lakehouse.sql import run_query

    relation = run_query(open_catalog(load_settings()), args.query)
    if relation is None:
        return 0
    _print_frame(relation.pl(), args.format)
    return 0


def _print_frame(frame, format: str) -> None:
    """A query's result on stdout: a table, CSV or JSON (`outscaled sql`, `outscaled analytics`)."""
    if format == "csv":
        sys.stdout.write(frame.write_csv())
    elif format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str, indent=None) + "\n")
    else:
        table = Table(show_lines=False)
        for column in frame.columns:
            table.add_column(column)
        for row in frame.iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        Console(width=None if sys.stdout.isatty() else 200).print(table)


def _models(args: argparse.Namespace) -> int:
    from outscaled.lakehouse.catalog import open_catalog
    from outscaled.models import registry

    catalog = open_catalog(load_settings())
    if args.models_command == "split":
        return _split(args, registry.read_registry(catalog))
    if args.models_command == "promote":
        registry.promote(catalog, args.version)
        console.print(f"{args.version} is now the champion of every model")
    elif args.models_command == "rollback":
        restored = registry.rollback(catalog)
        console.print("rolled back: " + ", ".join(f"{m} -> {v}" for m, v in restored.items()))
    frame = registry.read_registry(catalog)
    if frame.is_empty():
        console.print("no model versions yet: run `outscaled materialize` to train")
        return 0
    table = Table(title="model registry (gold.model_registry)")
    for column in ("version", "model", "status", "train_end", "log_loss", "ece", "reason"):
        table.add_column(column)
    for row in frame.sort(["created_at", "model"], descending=[True, False]).iter_rows(named=True):
        scores = json.loads(row["metrics"] or "{}").get("model", {})
        table.add_row(row["version"], row["model"], row["status"], str(row["train_end"])[:10],
                      f"{scores.get('log_loss', float('nan')):.4f}", f"{scores.get('ece', float('nan')):.4f}",
                      row["reason"] or "")
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def _split(args: argparse.Namespace, registry_frame) -> int:
    from outscaled.online.arms import Split, read_splits, write_split
    from outscaled.online.redis_server import connect

    if not 0.0 <= args.weight <= 1.0:
        raise ValueError(f"WEIGHT is the challenger's share of callers, from 0 to 1; got {args.weight}")
    known = registry_frame.filter((registry_frame["model"] == args.stat) & (registry_frame["version"] == args.version))
    if known.is_empty():
        raise ValueError(f"no version {args.version} of the {args.stat} model in gold.model_registry "
                         "(see `outscaled models list`)")
    client = connect(load_settings())
    write_split(client, Split(args.stat, args.version, 0.0 if args.shadow else args.weight, args.shadow))
    splits = read_splits(client)
    if not splits:
        console.print("no splits: every model answers from its champion")
    for stat, current in sorted(splits.items()):
        how = "shadow (scored, not returned)" if current.shadow else f"{current.weight:.0%} of callers"
        console.print(f"{stat}: challenger {current.version}, {how}; the service picks it up within a second")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from outscaled.models.evaluate import evaluate

    try:
        since = datetime.strptime(args.since, "%Y-%m-%d")
    except ValueError as error:
        raise ValueError(f"--since expects YYYY-MM-DD, got '{args.since}'") from error
    for path in args.data:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    with console.status("evaluating the champion models…"):
        result = evaluate(load_settings(), [p.resolve() for p in args.data], since, progress=console.log)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return 0
    table = Table(title=f"champion models on games since {args.since}")
    for column in ("model", "n", "method", "log_loss", "brier", "accuracy", "ece", "mae"):
        table.add_column(column)
    for model, metrics in result.items():
        if not metrics.get("n"):
            table.add_row(model, "0", metrics.get("note", "no games with this stat"), "", "", "", "", "")
            continue
        for method, values in [("model", metrics["model"]), *metrics.get("variants", {}).items(),
                               *metrics["baselines"].items()]:
            table.add_row(model, str(metrics["n"]), method, *[f"{values[k]:.4f}" if k in values else ""
                                                              for k in ("log_loss", "brier", "accuracy", "ece", "mae")])
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def _snapshots(args: argparse.Namespace) -> int:
    from outscaled.online import snapshot
    from outscaled.online.redis_server import connect

    client = connect(load_settings())
    if args.snapshots_command == "rollback":
        console.print(f"now serving snapshot {snapshot.rollback(client)}")
    table = Table(title="feature snapshots in Redis")
    for column in ("snapshot_id", "current", "created_at", "players", "model_versions"):
        table.add_column(column)
    for item in snapshot.list_snapshots(client):
        table.add_row(item["snapshot_id"], "yes" if item["current"] else "", item["created_at"], str(item["players"]),
                      json.dumps(item["model_versions"]))
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from outscaled.online.service_process import serve_forever

    settings = load_settings()
    if settings.auth:
        console.print("auth is on: `outscaled keys create --role reader` makes a key; send `Authorization: Bearer "
                      "<key>` (or open /?key=<key> in a browser); OUTSCALED_AUTH=off turns it off for local work")
    return serve_forever(settings, args.port)


UI_STOP_GRACE_SECONDS = 5.0


def _ui(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_dagster_home(settings)
    command = [sys.executable, "-m", "dagster", "dev", "-m", "orchestration.definitions", "-p", str(args.port)]
    console.print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={settings.dagster_home})")
    # `dagster dev` and its webserver, daemon and code servers ignore SIGTERM and SIGINT for ~15 s: they are
    # ended (SIGTERM, then SIGKILL after UI_STOP_GRACE_SECONDS) when this command is stopped, and by a
    # guardian process if this one is killed outright.
    from outscaled.online.lifecycle import ProcessTreeGuardian, dies_with_this_process, wait_or_stop

    with ProcessTreeGuardian(UI_STOP_GRACE_SECONDS) as tree:  # its exit ends what is left of the tree
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=os.environ.copy(), start_new_session=True,
                                   preexec_fn=dies_with_this_process(signal.SIGKILL))
        return wait_or_stop(process, tree.end)


def _demo(args: argparse.Namespace) -> int:
    from outscaled.demo import run_demo

    return run_demo(args.data, _ingest, _sql, _materialize)


if __name__ == "__main__":
    raise SystemExit(main())

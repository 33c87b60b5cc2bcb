"""`outscaled analytics "SELECT …"`: read-only SQL on the analytics store, printed like `outscaled sql`."""

from __future__ import annotations

import argparse
import json
import sys

import polars as pl
from rich.console import Console
from rich.table import Table

from outscaled.analytics.store import run_query
from outscaled.config import Settings


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Print the result of `args.query` on stdout as a table, CSV or JSON (`args.format`); messages go to
    `console` (stderr). A write statement raises ReadOnlyViolation, reported by the command line."""
    frame = pl.from_arrow(run_query(settings, args.query))
    if isinstance(frame, pl.Series):
        frame = frame.to_frame()
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str) + "\n")
    else:
        table = Table(show_lines=False)
        for column in frame.columns:
            table.add_column(column)
        for row in frame.iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        Console(width=None if sys.stdout.isatty() else 200).print(table)
    if frame.is_empty():
        console.print("no rows", style="dim")
    return 0

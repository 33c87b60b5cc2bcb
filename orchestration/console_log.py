"""The command line's Dagster log: one line per event, a failure without its stack trace.

`outscaled ingest` and `outscaled materialize` run Dagster in-process. Dagster's own console logger
prints every failed step's whole error chain and stack trace (some 70 lines for one bad file), which
buries the one line a person can act on. The command line ends with the platform's own message and
shows the stack trace only under `--debug` (see outscaled/cli.py); this logger keeps the progress lines
in between short: an event that carries an error is printed as its first line only.
"""

from __future__ import annotations

import logging
import sys

from dagster import Field, InitLoggerContext, logger

FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"  # Dagster's console format
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
METADATA_ATTRIBUTE = "dagster_meta"  # where Dagster's log handler puts the event of a log record


class WithoutErrorChain(logging.Formatter):
    """Formats a record as Dagster's console does, minus the error chain Dagster appends (after a blank
    line) to the message of an event that carries an error: step and run failures."""

    def format(self, record: logging.LogRecord) -> str:
        event = (getattr(record, METADATA_ATTRIBUTE, None) or {}).get("dagster_event")
        if getattr(getattr(event, "event_specific_data", None), "error", None) is not None:
            first = record.getMessage().split("\n\n", 1)[0]
            record = logging.makeLogRecord({**record.__dict__, "msg": first, "args": ()})
        return super().format(record)


@logger(
    {"log_level": Field(str, is_required=False, default_value="INFO"),
     "name": Field(str, is_required=False, default_value="dagster")},
    description="Dagster's console log without the stack traces of failures (the CLI prints the error).",
)
def concise_console_logger(init_context: InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    console = logging.Logger(config["name"], level=config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)  # this run's stderr (a test's capture included)
    handler.setFormatter(WithoutErrorChain(FORMAT, DATE_FORMAT))
    console.addHandler(handler)
    return console

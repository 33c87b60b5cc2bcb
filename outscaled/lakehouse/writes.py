"""Write rows into an Iceberg table in one commit, with the per-file work done once per batch.

pyiceberg 0.12's `Table.append` splits a partitioned batch by filtering the whole Arrow table once per
partition value (partitions x rows x columns), then for every data file re-derives the same schema
conversions and statistics plan (visitors over ~170 columns) in Python. A batch of events spanning many
(year, league) partitions spent more time on that than on writing Parquet. Here the rows are sorted by
their partition values once, the schema work is done once, and each partition's slice is written as
Parquet with pyiceberg's own writer settings and statistics, then committed as the same fast append
(after a delete, for a replacement) that `Table.append`/`overwrite` make.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import BooleanExpression
from pyiceberg.io.pyarrow import (
    _get_parquet_writer_kwargs,  # pinned pyiceberg (0.12): the Parquet settings its own writer uses
    bin_pack_arrow_table, compute_statistics_plan, data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping, schema_to_pyarrow,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.schema import sanitize_column_names
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.typedef import Record
from pyiceberg.utils.properties import property_as_int

WRITERS = 2  # threads writing Parquet (the C++ writer releases the GIL)


@contextlib.contextmanager
def without_empty_delete_warning() -> Iterator[None]:
    """pyiceberg warns when a replacement's delete finds no rows: replacing rows that are not there yet (a
    first load, an empty table) is normal here, and the warning would only alarm the user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        yield


def write_rows(table: Table, rows: pa.Table, replace: BooleanExpression | None = None) -> None:
    """Append `rows` (Arrow, in the table's schema); with `replace`, first delete the rows it matches. One
    catalog commit either way."""
    with table.transaction() as transaction:
        if replace is not None:
            with without_empty_delete_warning():
                transaction.delete(replace)
        if rows.num_rows == 0:
            return
        metadata = transaction.table_metadata  # a deep copy per access in pyiceberg: read it once
        with transaction.update_snapshot().fast_append() as append:
            for data_file in _write_data_files(table, metadata, rows, append.commit_uuid):
                append.append_data_file(data_file)


def _write_data_files(table: Table, metadata, rows: pa.Table, write_uuid) -> list[DataFile]:
    schema, spec, properties = metadata.schema(), metadata.spec(), metadata.properties
    file_schema = sanitize_column_names(schema)
    rows = rows.cast(schema_to_pyarrow(file_schema, include_field_ids=True))
    writer_settings = _get_parquet_writer_kwargs(properties)
    row_group_size = property_as_int(properties, TableProperties.PARQUET_ROW_GROUP_LIMIT,
                                     TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT)
    target_size = property_as_int(properties, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
                                  TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
    statistics_plan = compute_statistics_plan(file_schema, properties)
    column_ids = parquet_path_to_id_mapping(file_schema)
    locations = load_location_provider(table_location=metadata.location, table_properties=properties)
    task_ids = itertools.count(0)
    tasks = [(next(task_ids), values, pa.Table.from_batches(batches, schema=rows.schema))
             for values, piece in partition_pieces(table, rows)
             for batches in bin_pack_arrow_table(piece, target_size)]

    def write(task: tuple[int, tuple | None, pa.Table]) -> DataFile:
        task_id, values, part = task
        key = None if values is None else PartitionKey(
            field_values=[PartitionFieldValue(field=f, value=v) for f, v in zip(spec.fields, values, strict=True)],
            partition_spec=spec, schema=schema)
        path = locations.new_data_location(data_file_name=f"00000-{task_id}-{write_uuid}.parquet", partition_key=key)
        output = table.io.new_output(path)
        with output.create(overwrite=True) as stream:
            with pq.ParquetWriter(stream, schema=part.schema, store_decimal_as_integer=True,
                                  **writer_settings) as writer:
                writer.write(part, row_group_size=row_group_size)
        statistics = data_file_statistics_from_parquet_metadata(writer.writer.metadata, statistics_plan, column_ids)
        return DataFile.from_args(
            content=DataFileContent.DATA, file_path=path, file_format=FileFormat.PARQUET,
            partition=key.partition if key else Record(), file_size_in_bytes=len(output), sort_order_id=None,
            spec_id=metadata.default_spec_id, equality_ids=None, key_metadata=None,
            **statistics.to_serialized_dict())

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(write, tasks))


def partition_pieces(table: Table, rows: pa.Table) -> list[tuple[tuple | None, pa.Table]]:
    """`rows` cut into one slice per partition of `table`'s spec, with its partition values (the values of
    the spec's transforms); one piece with None when the table is unpartitioned."""
    spec = table.spec()
    if spec.is_unpartitioned():
        return [(None, rows)]
    schema = table.schema()
    keys = {}
    for number, field in enumerate(spec.fields):
        source = schema.find_field(field.source_id)
        keys[f"k{number}"] = field.transform.pyarrow_transform(source.field_type)(rows.column(source.name))
    key_table = pa.table(keys)
    order = pc.sort_indices(key_table, sort_keys=[(k, "ascending", "at_end") for k in keys])
    ordered = rows.take(order)
    runs = (pl.from_arrow(key_table.take(order)).with_row_index("_at")
            .group_by(list(keys), maintain_order=True).agg(pl.col("_at").first(), pl.len()))
    return [(tuple(run[k] for k in keys), ordered.slice(run["_at"], run["len"])) for run in runs.iter_rows(named=True)]

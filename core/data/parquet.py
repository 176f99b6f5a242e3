"""Read a Parquet file into rows, refusing from its metadata what would cost too much before reading it.

A Parquet file is compressed, often very well: 46 KB can hold a million rows, and one huge string stored
once in a column's dictionary can stand for a million copies. So the row count, the stored size and the
nesting are checked from the metadata first, and each batch is measured before it becomes Python objects.
"""

from __future__ import annotations

from pathlib import Path

from core.data.errors import DataError, shorten
from core.data.limits import OBJECT_BYTES, LoadLimits, ReadBudget, TooDeeplyNested, measure_row, nesting_error
from core.data.readers import ReadResult


def _decoded_bytes(batch) -> int:
    """The bytes a batch's values take once decoded; dictionary-encoded text is counted by its values' lengths."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary).take(column.indices)
            total += (pc.sum(lengths).as_py() or 0) + column.indices.nbytes
        else:
            total += column.nbytes
    return total


def _not_readable(name: str, err: Exception) -> DataError:
    if "too deeply nested" in str(err):  # pyarrow's own schema limit (100 Parquet levels, ~33 nested lists)
        return nesting_error(name, "its columns", TooDeeplyNested())
    return DataError(f"{name} is not a readable Parquet file ({shorten(str(err), 120)}). Export it again.")


def read_parquet(path: Path, name: str, limits: LoadLimits | None = None, batch_rows: int = 256) -> ReadResult:
    """Read a Parquet file (all row groups) into rows, ``batch_rows`` at a time.

    The row count and stored size come from the file's metadata and are refused before anything is read
    (pyarrow itself refuses a schema nested past 100 Parquet levels, well below Python's recursion limit); each
    batch's decoded size is counted before it becomes Python objects. Text columns are read as dictionaries,
    so a file repeating one huge string a million times (a few KB compressed) is measured without decoding it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.ParquetFile(path).schema_arrow
        text_columns = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        parquet = pq.ParquetFile(path, read_dictionary=text_columns)
        metadata = parquet.metadata
    except Exception as err:  # pyarrow raises several types (ArrowInvalid, OSError) for a damaged file
        raise _not_readable(name, err) from None
    if metadata.num_rows == 0:
        raise DataError(f"{name} has columns ({', '.join(schema.names)}) but no rows.")
    if limits is not None:
        limits.check_row_count(name, metadata.num_rows)
        stored = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        limits.check_decoded_size(name, stored + OBJECT_BYTES * metadata.num_rows)
    budget = ReadBudget(name, limits)
    rows: list[dict] = []
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            budget.add_bytes(_decoded_bytes(batch), batch.num_rows, f"row {len(rows) + batch.num_rows:,}")
            for row in batch.to_pylist():
                if limits is not None:
                    budget.check_row(measure_row(row)[0], f"row {len(rows) + 1:,}")
                rows.append(row)
    except DataError:
        raise
    except Exception as err:  # a damaged row group shows only once it is read
        raise _not_readable(name, err) from None
    return ReadResult(rows=rows)

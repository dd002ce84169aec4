"""Which files are tables: formats and compression told by file names (no pyarrow needed)."""

from __future__ import annotations

from collections.abc import Sequence

_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}


def format_of(name: str) -> tuple[str | None, str | None]:
    """(table format, compression codec) implied by a file name, e.g. ``x.csv.gz`` → csv, gzip."""
    lowered = name.lower()
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if lowered.endswith(suffix):
            compression, lowered = codec, lowered[: -len(suffix)]
            break
    dot = lowered.rfind(".")
    fmt = _FORMATS.get(lowered[dot:]) if dot >= 0 else None
    if fmt == "parquet" and compression:
        return None, None  # Parquet compresses inside the file; an outer codec is not a table
    return fmt, compression


def data_file_names(paths: Sequence[str]) -> list[str]:
    """The paths that hold data: hidden or ``_``-prefixed files and folders (``_SUCCESS``,
    ``.git/``) are left out, as Spark and Arrow leave them out."""
    return [p for p in paths if "/." not in p and "/_" not in p and not p.startswith((".", "_"))]


def detect_table_format(paths: Sequence[str]) -> str | None:
    """The common format of data files ``paths`` (from ``data_file_names``), or None."""
    found: str | None = None
    for path in paths:
        fmt = format_of(path)[0]
        if fmt is None or (found is not None and fmt != found):
            return None  # stop at the first file that is not of the common format
        found = fmt
    return found

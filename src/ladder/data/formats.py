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
    """Paths that hold data: hidden and ``_``-prefixed files (``_SUCCESS``, ``.DS_Store``) are not."""
    return [p for p in paths if not p.rsplit("/", 1)[-1].startswith((".", "_"))]


def detect_table_format(paths: Sequence[str]) -> str | None:
    """The common table format of ``paths``, or None when they are not all of one tabular format."""
    names = data_file_names(paths)
    formats = {format_of(p)[0] for p in names}
    if len(formats) != 1:
        return None
    return formats.pop()

"""The reference sample: a bounded, seeded, uniform sample of a version's rows.

Drift tests need real rows (a KS test cannot run on a histogram), but a
dataset may be larger than memory. The sample is drawn in one streaming pass
by *bottom-k* sampling: every row gets a random key from a generator seeded
with ``seed``, and the ``size`` rows with the smallest keys are kept. That is
a uniform sample without replacement, it needs memory for ``2 × size`` rows at
most, and the same data with the same seed always gives the same sample. Rows
keep their original order. A table with at most ``size`` rows is kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SAMPLE_ROWS = 100_000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class ReferenceSample:
    """Rows kept from a version for exact drift tests.

    Attributes:
        table: the sampled rows (data columns only, original order) as an Arrow table.
        seed: the seed of the sampling keys.
        population: the number of rows of the version the sample was drawn from.
    """

    table: pa.Table
    seed: int
    population: int

    @property
    def rows(self) -> int:
        return self.table.num_rows

    @property
    def complete(self) -> bool:
        """True when the sample holds every row of the version."""
        return self.rows == self.population

    @property
    def column_names(self) -> list[str]:
        return list(self.table.column_names)

    def __len__(self) -> int:
        return self.rows

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()


class ReservoirSampler:
    """Bottom-k sampling over a stream of record batches."""

    def __init__(self, size: int, seed: int) -> None:
        if size < 0:
            raise ValueError(f"sample size: expected 0 or more rows, got {size}")
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._keys: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._batches: list[pa.RecordBatch] = []
        self._kept = 0
        self._threshold = np.inf
        self._seen = 0

    def add(self, batch: pa.RecordBatch) -> None:
        count = batch.num_rows
        keys = self._rng.random(count)
        if self.size and count:
            chosen = np.flatnonzero(keys < self._threshold)
            if len(chosen):
                self._keys.append(keys[chosen])
                self._rows.append(chosen + self._seen)
                self._batches.append(batch.take(pa.array(chosen)))
                self._kept += len(chosen)
                if self._kept >= 2 * self.size:
                    self._compact()
        self._seen += count

    def _compact(self) -> None:
        keys = np.concatenate(self._keys)
        rows = np.concatenate(self._rows)
        table = pa.Table.from_batches(self._batches)
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, rows, table = keys[keep], rows[keep], table.take(pa.array(keep))
        if len(keys) >= self.size:
            self._threshold = float(keys.max())
        self._keys, self._rows = [keys], [rows]
        self._batches = table.combine_chunks().to_batches() or []
        self._kept = len(keys)

    def result(self, schema: pa.Schema) -> pa.Table:
        """The sample in original row order (call once, after the last batch)."""
        if not self._batches:
            return schema.empty_table()
        self._compact()
        rows = self._rows[0]
        table = pa.Table.from_batches(self._batches, schema=self._batches[0].schema)
        return table.take(pa.array(np.argsort(rows, kind="stable"))).cast(schema)

    @property
    def seen(self) -> int:
        return self._seen

"""The reference sample: a bounded, seeded, uniform sample of a version's rows.

Drift tests need real rows (a KS test cannot run on a histogram), but a
dataset may be larger than memory. The sample is drawn in one streaming pass
by *bottom-k* sampling: every row gets a random key from a generator seeded
with ``seed``, and the ``size`` rows with the smallest keys are kept. That is
a uniform sample without replacement, it needs memory for ``2 × size`` rows at
most, and the same data with the same seed always gives the same sample. Rows
keep their original order. A table with at most ``size`` rows is kept whole. (The sampler itself,
``ReservoirSampler``, lives with the profile that drives it; this module
stays free of numpy and pyarrow so that versioning plain files starts fast.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

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

"""Fixtures of the data slice's tests: small real files and frames."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _settle(path: Path) -> None:
    past = time.time() - 60
    targets = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for target in targets:
        os.utime(target, (past, past))


@pytest.fixture
def settle() -> Callable[[Path], None]:
    """Date files back a minute, as if written long before: their stat-cache entries are trusted."""
    return _settle


@pytest.fixture
def make_loans() -> Callable[..., pd.DataFrame]:
    """A loans table: amount (float), term (int), grade (A/B/C), approved (bool)."""
    return loans_frame


def loans_frame(rows: int = 500, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(1000.0, 250.0, rows).round(2),
            "term": rng.choice([12, 24, 36], rows),
            "grade": rng.choice(["A", "B", "C"], rows, p=[0.5, 0.3, 0.2]),
            "approved": rng.random(rows) > 0.3,
        }
    )


@pytest.fixture
def loans_csv(isolated: Path) -> Path:
    path = isolated / "loans.csv"
    loans_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def folder(isolated: Path) -> Path:
    """A folder of plain files in two levels."""
    root = isolated / "images"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    for i in range(5):
        (root / "cats" / f"cat{i}.bin").write_bytes(os.urandom(2048))
        (root / "dogs" / f"dog{i}.bin").write_bytes(os.urandom(1024))
    (root / "README.txt").write_text("labelled pets\n")
    return root

"""Synthetic loan applications with default labels, and a later period that has drifted.

The training period and the drifted period share one true risk function except
for a changed effect of ``debt_ratio`` (concept drift) and a shifted population
(younger applicants, lower credit scores, larger loans: covariate drift). A
model trained on the first period loses accuracy on the second; one retrained on
labelled data from the second recovers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ("age", "income", "loan_amount", "credit_score", "employment_years", "debt_ratio")
LABEL = "default"


@dataclass(frozen=True)
class _Population:
    """Where a period's applicants come from, and how much their debt ratio drives default."""

    age: tuple[float, float]  # normal: mean, sd
    income: tuple[float, float]  # lognormal: mu, sigma
    loan_amount: tuple[float, float]  # lognormal: mu, sigma
    credit_score: tuple[float, float]  # normal: mean, sd
    employment_scale: float  # gamma(2, scale)
    debt_ratio: tuple[float, float]  # beta: a, b
    debt_effect: float


_HISTORY = _Population(
    age=(42, 10),
    income=(10.9, 0.45),
    loan_amount=(9.5, 0.6),
    credit_score=(680, 70),
    employment_scale=4.0,
    debt_ratio=(2.5, 5.0),
    debt_effect=1.0,
)
# A narrower, riskier population: harder to rank, and debt now matters more.
_DRIFTED = _Population(
    age=(30, 5),
    income=(10.7, 0.2),
    loan_amount=(9.7, 0.25),
    credit_score=(640, 25),
    employment_scale=1.5,
    debt_ratio=(4.0, 4.0),
    debt_effect=9.0,
)


def loan_applications(rows: int, *, drifted: bool = False, seed: int = 0) -> pd.DataFrame:
    """``rows`` applications with their ``default`` label (1 = defaulted)."""
    rng = np.random.default_rng(seed)
    population = _DRIFTED if drifted else _HISTORY
    age = rng.normal(*population.age, rows).clip(18, 80)
    income = rng.lognormal(*population.income, rows)
    loan_amount = rng.lognormal(*population.loan_amount, rows)
    credit_score = rng.normal(*population.credit_score, rows).clip(300, 850)
    employment_years = rng.gamma(2.0, population.employment_scale, rows).clip(0, 45)
    debt_ratio = rng.beta(*population.debt_ratio, rows)
    logit = (
        -0.8
        - 0.03 * (credit_score - 660)
        + 1.6 * np.log(loan_amount / income * 10)
        + population.debt_effect * (debt_ratio - 0.4)
        - 0.12 * employment_years
        - 0.02 * (age - 40)
    )
    default = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "age": age.round(0),
            "income": income.round(2),
            "loan_amount": loan_amount.round(2),
            "credit_score": credit_score.round(0),
            "employment_years": employment_years.round(1),
            "debt_ratio": debt_ratio.round(4),
            LABEL: default.astype("int64"),
        }
    )

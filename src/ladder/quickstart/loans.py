"""Synthetic loan applications with default labels, and a later period that has drifted.

The training period and the drifted period share one true risk function except
for a changed effect of ``debt_ratio`` (concept drift) and a shifted population
(younger applicants, lower credit scores, larger loans: covariate drift). A
model trained on the first period loses accuracy on the second; one retrained on
labelled data from the second recovers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ("age", "income", "loan_amount", "credit_score", "employment_years", "debt_ratio")
LABEL = "default"


def loan_applications(rows: int, *, drifted: bool = False, seed: int = 0) -> pd.DataFrame:
    """``rows`` applications with their ``default`` label (1 = defaulted)."""
    rng = np.random.default_rng(seed)
    if drifted:  # a narrower, riskier population: harder to rank, and debt now matters more
        age = rng.normal(30, 5, rows).clip(18, 80)
        income = rng.lognormal(10.7, 0.2, rows)
        loan_amount = rng.lognormal(9.7, 0.25, rows)
        credit_score = rng.normal(640, 25, rows).clip(300, 850)
        employment_years = rng.gamma(2.0, 1.5, rows).clip(0, 45)
        debt_ratio = rng.beta(4.0, 4.0, rows)
        debt_effect = 9.0
    else:
        age = rng.normal(42, 10, rows).clip(18, 80)
        income = rng.lognormal(10.9, 0.45, rows)
        loan_amount = rng.lognormal(9.5, 0.6, rows)
        credit_score = rng.normal(680, 70, rows).clip(300, 850)
        employment_years = rng.gamma(2.0, 4.0, rows).clip(0, 45)
        debt_ratio = rng.beta(2.5, 5.0, rows)
        debt_effect = 1.0
    logit = (
        -0.8
        - 0.03 * (credit_score - 660)
        + 1.6 * np.log(loan_amount / income * 10)
        + debt_effect * (debt_ratio - 0.4)
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

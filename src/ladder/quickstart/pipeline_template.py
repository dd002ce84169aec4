"""The training pipeline the quickstart writes into its workspace as ``loans_pipeline.py``."""

SOURCE = '''\
"""Train the loan-default model on the latest dataset version and register it."""

import pandas as pd

import ladder

FEATURES = ["age", "income", "loan_amount", "credit_score", "employment_years", "debt_ratio"]


@ladder.step
def load(ref: str) -> pd.DataFrame:
    return ladder.dataset.get(ref).to_pandas()


@ladder.step
def fit(frame: pd.DataFrame, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    return model.fit(frame[FEATURES], frame["default"])


@ladder.step(cache=False)
def register(model, frame: pd.DataFrame, ref: str):
    return ladder.register_model(
        model, "loans", input_example=frame[FEATURES].head(20), datasets=[ref],
        description="logistic regression on loan applications",
    )


@ladder.pipeline
def training(data: str = "loans@latest", C: float = 1.0):
    ref = ladder.dataset.get(data).ref  # pin "latest" to a version: the cache key sees it
    frame = load(ref)
    return register(fit(frame, C=C), frame, ref)
'''

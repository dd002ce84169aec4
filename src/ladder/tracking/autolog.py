"""``ladder.autolog()``: record scikit-learn fits without changing the training code.

Every estimator class's ``fit`` is wrapped: the outermost fit logs the
estimator's params, its fit time and its training score (``score(X, y)`` when
labels were given) to the active run, or to a run of its own when none is active.
Fits nested inside another fit (a pipeline's steps, a search's candidates) are
not logged separately.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from typing import Any

from ladder.tracking.run import active_run, start_run

_state = threading.local()
_patched: dict[type, Any] = {}


def autolog(disable: bool = False) -> None:
    """Turn scikit-learn autologging on (or off with ``disable=True``)."""
    if disable:
        for cls, original in _patched.items():
            cls.fit = original  # type: ignore[attr-defined]
        _patched.clear()
        return
    from sklearn.utils import all_estimators

    for _, cls in all_estimators():
        original = cls.__dict__.get("fit")
        if original is None or cls in _patched:
            continue
        _patched[cls] = original
        cls.fit = _wrap(original)


def _wrap(fit: Any) -> Any:
    @functools.wraps(fit)
    def logged_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0) > 0:
            return fit(self, *args, **kwargs)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        _state.depth = 1
        try:
            run = active_run()
            own_run = run is None
            if run is None:
                run = start_run(name=type(self).__name__, tags={"ladder.autolog": "sklearn"})
            try:
                started = time.perf_counter()
                result = fit(self, *args, **kwargs)
                elapsed = time.perf_counter() - started
                params = {
                    key: value
                    for key, value in self.get_params(deep=False).items()
                    if not hasattr(value, "get_params")
                }
                run.log_params(params)
                run.set_tags({"estimator_class": f"{type(self).__module__}.{type(self).__name__}"})
                metrics = {"fit_time_s": elapsed}
                if y is not None and hasattr(self, "score"):
                    # Some estimators cannot score their own training input; skip the metric.
                    with contextlib.suppress(Exception):
                        metrics["training_score"] = float(self.score(X, y))
                run.log_metrics(metrics)
            except BaseException:
                if own_run:
                    run.end("failed")
                raise
            if own_run:
                run.end("finished")
            return result
        finally:
            _state.depth = 0

    return logged_fit

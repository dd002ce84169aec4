"""Analysis windows over a prediction log: by count (``1000 predictions``) or time (``1h``).

Count windows cut the log, oldest first, into consecutive runs of N
predictions; the last run is incomplete until it has N. Time windows are
aligned to the Unix epoch (``1h`` windows start on the hour, ``1d`` at midnight
UTC), as NannyML's period chunks are; a window is complete once its end has
passed. ``all`` makes the whole data one window. With ``per_variant``, each
variant of a deployment (primary, canary, shadow, A/B) gets its own windows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ladder.errors import InvalidMonitorSpec

COUNT = "count"
TIME = "time"
ALL = "all"
_COUNT_TEXT = re.compile(r"^\s*(\d+)\s*(predictions?|rows?|requests?)?\s*$", re.IGNORECASE)
_TIME_TEXT = re.compile(
    r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s*$",
    re.IGNORECASE,
)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class WindowSpec:
    """How a log is cut: ``kind`` count/time/all, ``size`` in rows or seconds."""

    kind: str
    size: int

    @property
    def text(self) -> str:
        if self.kind == COUNT:
            return f"{self.size} predictions"
        if self.kind == ALL:
            return ALL
        for unit, seconds in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
            if self.size % seconds == 0:
                return f"{self.size // seconds}{unit}"
        return f"{self.size}s"


def parse_window(text: str | int) -> WindowSpec:
    """``"1000 predictions"``, ``1000``, ``"15m"``, ``"1h"``, ``"1d"``, ``"2 weeks"``, ``"all"``."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidMonitorSpec(
            f"window: expected text such as '1000 predictions' or '1h', got {text!r}"
        )
    if text.strip().lower() == ALL:
        return WindowSpec(ALL, 0)
    count = _COUNT_TEXT.match(text)
    if count:
        size = int(count.group(1))
        if size < 1:
            raise InvalidMonitorSpec(f"window {text!r}: expected at least 1 prediction, got {size}")
        return WindowSpec(COUNT, size)
    duration = _TIME_TEXT.match(text)
    if duration:
        size = int(duration.group(1)) * _SECONDS[duration.group(2)[0].lower()]
        if size < 1:
            raise InvalidMonitorSpec(f"window {text!r}: expected a positive duration")
        return WindowSpec(TIME, size)
    raise InvalidMonitorSpec(
        f"window: expected a count such as '1000 predictions' or a duration such as '1h', "
        f"'30m', '1d', got {text!r}"
    )


@dataclass(frozen=True)
class Window:
    """One window of rows: its variant, time span, position and whether it is complete."""

    rows: pd.DataFrame
    variant: str | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    complete: bool
    label: str

    @property
    def start_ms(self) -> int | None:
        return None if self.start is None else int(self.start.value // 1_000_000)

    @property
    def end_ms(self) -> int | None:
        return None if self.end is None else int(self.end.value // 1_000_000)


def split_windows(
    frame: pd.DataFrame,
    spec: WindowSpec,
    *,
    per_variant: bool = True,
    timestamp: str = "timestamp",
    variant: str = "variant",
    now: pd.Timestamp | None = None,
) -> list[Window]:
    """Cut ``frame`` into windows (ordered by variant, then time)."""
    groups: list[tuple[str | None, pd.DataFrame]]
    if per_variant and variant in frame.columns:
        groups = [(str(name), group) for name, group in frame.groupby(variant, sort=True)]
    else:
        groups = [(None, frame)]
    windows: list[Window] = []
    for name, group in groups:
        windows.extend(_split(group, spec, name, timestamp, now))
    return windows


def _split(
    frame: pd.DataFrame,
    spec: WindowSpec,
    variant: str | None,
    timestamp: str,
    now: pd.Timestamp | None,
) -> Iterator[Window]:
    has_time = timestamp in frame.columns
    if has_time:
        frame = frame.sort_values(timestamp, kind="stable")
    frame = frame.reset_index(drop=True)
    times = pd.to_datetime(frame[timestamp], utc=True).dt.as_unit("ns") if has_time else None
    if spec.kind == ALL:
        if len(frame):
            yield _window(frame, times, variant, True, "all rows")
        return
    if spec.kind == COUNT:
        for start in range(0, len(frame), spec.size):
            rows = frame.iloc[start : start + spec.size]
            complete = len(rows) == spec.size
            label = f"rows {start + 1}–{start + len(rows)}"
            yield _window(
                rows,
                times.iloc[start : start + spec.size] if times is not None else None,
                variant,
                complete,
                label,
            )
        return
    if times is None:
        raise InvalidMonitorSpec(
            f"window {spec.text}: time windows need a {timestamp!r} column; the data has "
            f"{', '.join(map(str, frame.columns[:10]))}"
        )
    size_ns = spec.size * 1_000_000_000
    bucket = times.astype("int64") // size_ns
    now_ns = (now or pd.Timestamp.now(tz="UTC")).value
    for key, rows in frame.groupby(bucket.to_numpy(), sort=True):
        number = int(key)  # type: ignore[call-overload]
        begin = pd.Timestamp(number * size_ns, tz="UTC")
        end = pd.Timestamp((number + 1) * size_ns, tz="UTC")
        complete = end.value <= now_ns
        label = f"{begin.isoformat()} – {end.isoformat()}"
        yield Window(rows, variant, begin, end, complete, label)


def _window(
    rows: pd.DataFrame,
    times: pd.Series | None,
    variant: str | None,
    complete: bool,
    label: str,
) -> Window:
    start = end = None
    if times is not None and len(times):
        start, end = times.iloc[0], times.iloc[-1]
    return Window(rows, variant, start, end, complete, label)

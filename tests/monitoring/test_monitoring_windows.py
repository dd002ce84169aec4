"""Analysis windows by count or time, per variant."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.errors import InvalidMonitorSpec
from ladder.monitoring import parse_window, split_windows


@pytest.mark.parametrize(
    ("text", "kind", "size"),
    [
        ("1000 predictions", "count", 1000),
        ("500", "count", 500),
        (250, "count", 250),
        ("1h", "time", 3600),
        ("30m", "time", 1800),
        ("2 days", "time", 172800),
        ("1w", "time", 604800),
        ("all", "all", 0),
    ],
)
def test_windows_are_counts_or_durations(text: str | int, kind: str, size: int) -> None:
    spec = parse_window(text)
    assert (spec.kind, spec.size) == (kind, size)
    assert parse_window(spec.text) == spec


@pytest.mark.parametrize("text", ["", "0", "1 fortnight", "h", "-5", "1.5h", "0h"])
def test_bad_windows_say_what_is_expected(text: str) -> None:
    with pytest.raises(InvalidMonitorSpec, match="window"):
        parse_window(text)


def log(
    rows: int, start: str = "2024-05-01 10:00", every: str = "1min", variants: int = 1
) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=rows, freq=every, tz="UTC")
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "variant": [["primary", "canary"][i % variants] for i in range(rows)],
            "input.x": range(rows),
        }
    )


def test_count_windows_cut_the_log_in_order_and_the_last_is_incomplete() -> None:
    windows = split_windows(log(25), parse_window("10"))
    assert [len(w.rows) for w in windows] == [10, 10, 5]
    assert [w.complete for w in windows] == [True, True, False]
    assert windows[1].rows["input.x"].tolist() == list(range(10, 20))
    assert windows[0].start == pd.Timestamp("2024-05-01 10:00", tz="UTC")
    assert windows[0].end == pd.Timestamp("2024-05-01 10:09", tz="UTC")


def test_time_windows_are_aligned_to_the_clock_and_complete_once_they_ended() -> None:
    frame = log(150, start="2024-05-01 10:30")  # 10:30 → 12:59
    now = pd.Timestamp("2024-05-01 12:30", tz="UTC")
    windows = split_windows(frame, parse_window("1h"), now=now)
    assert [w.start.hour for w in windows if w.start is not None] == [10, 11, 12]
    assert [len(w.rows) for w in windows] == [30, 60, 60]
    assert [w.complete for w in windows] == [True, True, False]
    assert windows[0].end_ms == int(pd.Timestamp("2024-05-01 11:00", tz="UTC").value // 1_000_000)


def test_each_variant_gets_its_own_windows() -> None:
    windows = split_windows(log(40, variants=2), parse_window("10"))
    assert [(w.variant, len(w.rows)) for w in windows] == [
        ("canary", 10),
        ("canary", 10),
        ("primary", 10),
        ("primary", 10),
    ]
    together = split_windows(log(40, variants=2), parse_window("10"), per_variant=False)
    assert [w.variant for w in together] == [None] * 4


def test_time_windows_need_timestamps() -> None:
    with pytest.raises(InvalidMonitorSpec, match="time windows need a 'timestamp' column"):
        split_windows(pd.DataFrame({"x": [1, 2]}), parse_window("1h"))


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 300), size=st.integers(1, 50))
def test_count_windows_keep_every_row_exactly_once(rows: int, size: int) -> None:
    windows = split_windows(log(rows), parse_window(str(size)))
    seen = [x for w in windows for x in w.rows["input.x"].tolist()]
    assert seen == list(range(rows))
    assert all(w.complete == (len(w.rows) == size) for w in windows)

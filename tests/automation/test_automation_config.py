"""``ladder.toml`` validation: every error names the key, the line, the expected and the given."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ladder.automation.config import EXAMPLE, LadderConfig, load_config, locate_key, parse_duration
from ladder.errors import ConfigError

VALID = """
[project]
name = "loans"

[pipelines.training]
entry = "train:training"
params = { C = 0.5 }

[models.loans]
pipeline = "training"
[models.loans.gate]
dataset = "loans-holdout@latest"
label = "default"
metrics = { roc_auc = { min = 0.75, min_delta = 0.0 } }

[deployments.loans]
model = "loans@champion"
[deployments.loans.canary]
share = 0.25
min_requests = 50

[monitors.loans]
deployment = "loans"
alerts = ["estimated.roc_auc < 0.75"]

[triggers.drop]
on = "alert"
monitor = "loans"
model = "loans"
cooldown = "10m"

[triggers.nightly]
on = "schedule"
cron = "0 3 * * *"
model = "loans"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ladder.toml"
    path.write_text(text)
    return path


def test_a_full_configuration_is_read_with_defaults_filled_in(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, VALID))
    assert config.project.name == "loans"
    assert config.pipelines["training"].params == {"C": 0.5}
    assert config.models["loans"].gate is not None
    assert config.models["loans"].gate.metrics["roc_auc"] == {"min": 0.75, "min_delta": 0.0}
    assert config.deployments["loans"].canary.share == 0.25
    assert config.deployments["loans"].canary.mode == "canary"
    assert config.triggers["drop"].alerts == ["performance"]
    assert config.policy.retrain_on == ["performance"]
    assert config.policy.block_on == ["data_quality"]


def test_the_example_written_by_init_is_valid(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, EXAMPLE.format(name="demo")))
    assert config.project.name == "demo"


def test_a_missing_file_is_an_empty_configuration(tmp_path: Path) -> None:
    assert load_config(tmp_path / "ladder.toml") == LadderConfig()


@pytest.mark.parametrize(
    ("change", "key", "line_text", "message"),
    [
        (("share = 0.25", "share = 1.5"), "deployments.loans.canary.share", "share = 1.5", "less"),
        (
            ('entry = "train:training"', 'entry = "train"'),
            "pipelines.training.entry",
            "entry",
            "module",
        ),
        (('cooldown = "10m"', 'cooldown = "soon"'), "triggers.drop", "[triggers.drop]", "duration"),
        (
            ('cron = "0 3 * * *"', 'cron = "daily"'),
            "triggers.nightly.cron",
            'cron = "daily"',
            "cron",
        ),
        (
            ("min_requests = 50", "min_requests = 50\ncolour = 1"),
            "colour",
            "colour",
            "Extra inputs",
        ),
        (
            ('on = "schedule"', 'on = "sometimes"'),
            "triggers.nightly.on",
            'on = "sometimes"',
            "schedule",
        ),
        (
            ('model = "loans@champion"', 'model = "loans"'),
            "deployments.loans.model",
            'model = "loans"',
            "NAME/VERSION, NAME@ALIAS or NAME@latest",
        ),
        (
            ('model = "loans@champion"', 'model = "loans/0"'),
            "deployments.loans.model",
            'model = "loans/0"',
            "positive integer",
        ),
    ],
)
def test_an_invalid_value_names_the_key_and_its_line(
    tmp_path: Path, change: tuple[str, str], key: str, line_text: str, message: str
) -> None:
    text = VALID.replace(*change)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(line_text))
    with pytest.raises(ConfigError) as raised:
        load_config(_write(tmp_path, text))
    error = str(raised.value)
    assert key in error
    assert message.lower() in error.lower()
    assert f"line {line}" in error
    assert str(tmp_path / "ladder.toml") in error


def test_a_reference_to_an_undefined_section_is_named(tmp_path: Path) -> None:
    text = VALID.replace('monitor = "loans"', 'monitor = "nope"')
    with pytest.raises(ConfigError, match=r"triggers\.drop\.monitor: no \[monitors\.nope\]"):
        load_config(_write(tmp_path, text))


def test_broken_toml_syntax_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 3"):
        load_config(_write(tmp_path, '[project]\nname = "x"\nbroken = \n'))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("1.5h", 5400.0), (30, 30.0)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@given(st.text(max_size=20))
def test_duration_parsing_accepts_or_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert parse_duration(text) >= 0


def test_locate_key_finds_dotted_and_nested_keys() -> None:
    text = "[a]\nx = 1\n[a.b]\ny = 2\nz.w = 3\n"
    assert locate_key(text, ["a", "x"]) == 2
    assert locate_key(text, ["a", "b", "y"]) == 4
    assert locate_key(text, ["a", "b", "z", "w"]) == 5
    assert locate_key(text, ["q"]) is None

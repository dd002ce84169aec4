"""Tracking runs from a script: params, metrics, tags, artifacts, status, git and environment."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

import ladder
from ladder.tracking.queries import get_environment, metric_history


def test_a_run_records_params_metrics_tags_and_ends_finished(workspace) -> None:
    with ladder.start_run(name="baseline", tags={"team": "risk"}) as run:
        run.log_params({"C": 1.0, "solver": "lbfgs", "layers": [64, 32]})
        run.log_metric("loss", 0.9)
        run.log_metric("loss", 0.5)
        run.log_metrics({"acc": 0.8, "f1": 0.7}, step=3)
        run.set_tags({"stage": "dev"})
    info = ladder.get_run(run.id)
    assert info.status == "finished"
    assert info.end_time is not None and info.end_time >= info.start_time
    assert info.params == {"C": "1.0", "layers": "[64, 32]", "solver": "lbfgs"}
    assert info.metrics == {"acc": 0.8, "f1": 0.7, "loss": 0.5}
    assert info.tags == {"stage": "dev", "team": "risk"}
    assert [(s, v) for s, _, v in metric_history(run.id, "loss")] == [(0, 0.9), (1, 0.5)]
    assert [(s, v) for s, _, v in metric_history(run.id, "acc")] == [(3, 0.8)]


def test_module_level_functions_log_to_the_active_run(workspace) -> None:
    with ladder.start_run(name="module-level") as run:
        ladder.log_param("lr", 0.01)
        ladder.log_params({"epochs": 3})
        ladder.log_metric("loss", 1.5, step=0)
        ladder.log_metrics({"loss": 1.0}, step=1)
        ladder.set_tags({"k": "v"})
        assert ladder.active_run() is run
    assert ladder.active_run() is None
    info = ladder.get_run(run.id)
    assert info.params == {"epochs": "3", "lr": "0.01"}
    assert info.metrics == {"loss": 1.0}
    with pytest.raises(ladder.RunNotActive, match="no active run"):
        ladder.log_metric("x", 1.0)


def test_an_exception_marks_the_run_failed_and_keeps_its_points(workspace) -> None:
    with pytest.raises(RuntimeError), ladder.start_run(name="boom") as run:
        run.log_metric("progress", 0.5)
        raise RuntimeError("training diverged")
    info = ladder.get_run(run.id)
    assert info.status == "failed"
    assert info.metrics == {"progress": 0.5}


def test_ctrl_c_marks_the_run_killed(workspace) -> None:
    with pytest.raises(KeyboardInterrupt), ladder.start_run(name="interrupted") as run:
        run.log_metric("x", 1.0)
        raise KeyboardInterrupt
    info = ladder.get_run(run.id)
    assert info.status == "killed"
    assert info.end_time is not None


def test_params_are_immutable_within_a_run(workspace) -> None:
    with ladder.start_run() as run:
        run.log_param("C", 1.0)
        run.log_param("C", 1.0)  # the same value again is fine
        with pytest.raises(ladder.ParamConflict, match=r"param 'C' .* already '1.0'.*got '2.0'"):
            run.log_param("C", 2.0)
    assert ladder.get_run(run.id).params == {"C": "1.0"}


def test_params_and_tags_given_to_start_run_are_stored_with_the_run(workspace) -> None:
    with ladder.start_run(params={"lr": 0.1, "opt": "adam"}, tags={"team": "risk"}) as run:
        assert ladder.get_run(run.id).params == {"lr": "0.1", "opt": "adam"}
        run.log_params({"lr": 0.1, "epochs": 3})  # the same value again is fine
        with pytest.raises(ladder.ParamConflict, match=r"param 'lr' .* already '0.1'.*got '0.2'"):
            run.log_param("lr", 0.2)
    info = ladder.get_run(run.id)
    assert info.params == {"epochs": "3", "lr": "0.1", "opt": "adam"}
    assert info.tags == {"team": "risk"}


def test_start_run_with_an_invalid_param_starts_no_run(workspace) -> None:
    with pytest.raises(ladder.InvalidValue, match=r"param 'long'.*6000.*6001"):
        ladder.start_run(name="refused", params={"ok": 1, "long": "x" * 6001})
    assert ladder.active_run() is None
    assert ladder.search_runs().runs == []


def test_a_param_already_in_the_store_is_immutable_too(workspace) -> None:
    from ladder.tracking.models import ParamRow

    def stored_by_another_writer(run_id: str, key: str, value: str) -> None:
        workspace.store.write(lambda s: s.add(ParamRow(run_id=run_id, key=key, value=value)))

    with ladder.start_run() as run:
        stored_by_another_writer(run.id, "C", "1.0")
        run.log_params({"C": 1.0, "gamma": "auto"})  # the stored value again is fine
        stored_by_another_writer(run.id, "kernel", "rbf")
        with pytest.raises(ladder.ParamConflict, match=r"param 'kernel' .* 'rbf'.*got 'poly'"):
            run.log_params({"degree": 3, "kernel": "poly"})
    # A refused batch stores none of its params.
    assert ladder.get_run(run.id).params == {"C": "1.0", "gamma": "auto", "kernel": "rbf"}


def test_a_metric_shows_its_highest_step_whatever_the_logging_order(workspace) -> None:
    with ladder.start_run() as run:
        run.log_metric("loss", 0.3, step=5)
        run.log_metric("loss", 0.9, step=1)
        run.flush()
        run.log_metrics({"loss": 0.7, "acc": 0.1}, step=2)
        run.log_metric("acc", 0.2, step=2)  # the same step again: the last logged wins
        run.log_metrics({"acc": 0.05}, step=1)
    assert ladder.get_run(run.id).metrics == {"acc": 0.2, "loss": 0.3}
    assert [(s, v) for s, _, v in metric_history(run.id, "loss")] == [(1, 0.9), (2, 0.7), (5, 0.3)]
    assert [(s, v) for s, _, v in metric_history(run.id, "acc")] == [(1, 0.05), (2, 0.1), (2, 0.2)]


def test_a_step_that_is_not_an_int_is_a_type_error(workspace) -> None:
    with ladder.start_run() as run:
        with pytest.raises(TypeError, match=r"metric 'loss': step must be an int, got float"):
            run.log_metric("loss", 0.5, step=1.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"log_metrics: step must be an int, got str"):
            run.log_metrics({"loss": 0.5}, step="3")  # type: ignore[arg-type]
        run.log_metrics({"loss": 0.4})
    assert [(s, v) for s, _, v in metric_history(run.id, "loss")] == [(0, 0.4)]


def test_a_metric_that_is_not_a_real_number_is_a_type_error_naming_key_and_type(
    workspace,
) -> None:
    with ladder.start_run() as run:
        with pytest.raises(TypeError, match=r"metric 'acc'.*got str"):
            run.log_metric("acc", "0.9")
        with pytest.raises(TypeError, match=r"metric 'acc'.*got NoneType"):
            run.log_metric("acc", None)
        with pytest.raises(TypeError, match=r"metric 'ok'.*got list"):
            run.log_metrics({"ok": [1.0]})
        with pytest.raises(TypeError, match=r"metric 'flag'.*got bool"):
            run.log_metric("flag", True)
        run.log_metric("acc", 0.5)
    assert ladder.get_run(run.id).metrics == {"acc": 0.5}


def test_nan_and_infinities_are_stored_and_read_back_as_such(workspace) -> None:
    import numpy as np

    with ladder.start_run() as run:
        run.log_metrics({"nan": float("nan"), "inf": math.inf, "ninf": -math.inf})
        run.log_metric("np", np.float32(0.25))
    metrics = ladder.get_run(run.id).metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf
    assert metrics["ninf"] == -math.inf
    assert metrics["np"] == 0.25
    found = ladder.search_runs(where="metrics.inf > 1e308")
    assert [r.id for r in found.runs] == [run.id]
    assert [r.id for r in ladder.search_runs(where="metrics.nan = nan").runs] == [run.id]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("bad:key", "expected letters"),
        ("semi;colon", "expected letters"),
        ("new\nline", "expected letters"),
        ("k" * 251, "at most 250"),
        ("", "expected letters"),
        (" padded", "expected letters"),
        (3, "expected a string"),
    ],
)
def test_invalid_keys_are_refused_with_a_clear_error(workspace, key: object, message: str) -> None:
    with ladder.start_run() as run:
        for log in (
            lambda: run.log_metric(key, 1.0),  # type: ignore[arg-type]
            lambda: run.log_param(key, 1),  # type: ignore[arg-type]
            lambda: run.set_tags({key: "x"}),  # type: ignore[dict-item]
        ):
            with pytest.raises(ladder.InvalidKey, match=message):
                log()


def test_keys_may_use_letters_digits_dots_dashes_slashes_and_spaces(workspace) -> None:
    with ladder.start_run() as run:
        run.log_metric("val/loss v2.x-y_z", 1.0)
    assert ladder.get_run(run.id).metrics == {"val/loss v2.x-y_z": 1.0}


def test_param_values_longer_than_6000_characters_are_refused(workspace) -> None:
    with ladder.start_run() as run:
        run.log_param("fits", "x" * 6000)
        with pytest.raises(ladder.InvalidValue, match=r"param 'long'.*6000.*6001"):
            run.log_param("long", "x" * 6001)
    assert "long" not in ladder.get_run(run.id).params


def test_logging_to_an_ended_run_is_refused(workspace) -> None:
    with ladder.start_run() as run:
        pass
    with pytest.raises(ladder.RunNotActive, match="has ended"):
        run.log_metric("late", 1.0)


def test_nested_runs_link_to_their_parent(workspace) -> None:
    with ladder.start_run(name="outer") as outer, ladder.start_run(name="inner") as inner:
        assert ladder.active_run() is inner
    assert ladder.get_run(inner.id).parent_id == outer.id


def test_artifacts_files_folders_dicts_and_figures_round_trip(workspace, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source = tmp_path / "notes.txt"
    source.write_text("hello")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"\x00\x01")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    with ladder.start_run() as run:
        run.log_artifact(source)
        run.log_artifact(folder, name="model")
        run.log_dict({"b": 2, "a": [1.5]}, "config.json")
        run.log_figure(figure, "plots/curve.png")
    names = {a.path: a for a in ladder.list_artifacts(run.id)}
    assert set(names) >= {"notes.txt", "model", "config.json", "plots/curve.png"}
    assert names["model"].kind == "dir"
    assert names["plots/curve.png"].media_type == "image/png"
    out = tmp_path / "out"
    out.mkdir()
    ladder.download_artifact(run.id, "notes.txt", out)
    assert (out / "notes.txt").read_text() == "hello"
    ladder.download_artifact(run.id, "model", out / "model")
    assert (out / "model" / "sub" / "w.bin").read_bytes() == b"\x00\x01"
    ladder.download_artifact(run.id, "config.json", out / "config.json")
    assert (out / "config.json").read_text().startswith("{")
    ladder.download_artifact(run.id, "plots/curve.png", out / "curve.png")
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ladder.ArtifactNotFound, match=r"notes\.txt"):
        ladder.download_artifact(run.id, "missing.txt", out)


def test_plotly_figures_are_stored_as_self_contained_html(workspace, tmp_path: Path) -> None:
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    with ladder.start_run() as run:
        run.log_figure(figure, "scatter.html")
        with pytest.raises(ValueError, match=r"\.html or \.json"):
            run.log_figure(figure, "scatter.png")
        with pytest.raises(TypeError, match="matplotlib or Plotly"):
            run.log_figure(object(), "x.png")
    ladder.download_artifact(run.id, "scatter.html", tmp_path / "s.html")
    html = (tmp_path / "s.html").read_text()
    assert "plotly" in html.lower() and "<script" in html


def test_a_run_records_git_commit_branch_dirty_state_and_diff(
    workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.email", "a@b.c")
    git("config", "user.name", "A")
    (repo / "train.py").write_text("print(1)\n")
    git("add", ".")
    git("commit", "-qm", "first")
    commit = git("rev-parse", "HEAD")
    monkeypatch.chdir(repo)
    from ladder.tracking import environment

    environment._git_cache.clear()
    with ladder.start_run(name="clean") as clean:
        pass
    (repo / "train.py").write_text("print(2)\n")
    environment._git_cache.clear()
    with ladder.start_run(name="dirty") as dirty:
        pass
    clean_info, dirty_info = ladder.get_run(clean.id), ladder.get_run(dirty.id)
    assert clean_info.git_commit == commit and clean_info.git_branch == "main"
    assert clean_info.git_dirty is False and clean_info.git_diff_digest is None
    assert dirty_info.git_dirty is True and dirty_info.git_diff_digest.startswith("blake3:")
    diff = tmp_path / "git.diff"
    ladder.download_artifact(dirty.id, "ladder/git.diff", diff)
    assert "+print(2)" in diff.read_text()


def test_a_run_records_environment_and_how_to_rerun_it(workspace) -> None:
    import sys

    with ladder.start_run() as run:
        pass
    info = ladder.get_run(run.id)
    assert info.command and sys.executable in info.command
    assert info.user and info.cwd
    env = get_environment(info.environment_digest)
    assert env is not None
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert any(p.lower().startswith("sqlalchemy==") for p in env["packages"])


def test_runs_are_deleted_with_their_records(workspace) -> None:
    with ladder.start_run(name="keep") as keep:
        keep.log_metric("x", 1.0)
    with ladder.start_run(name="drop") as drop:
        drop.log_metric("x", 2.0)
        drop.log_dict({"a": 1}, "a.json")
    assert ladder.delete_runs([drop.id]) == [drop.id]
    with pytest.raises(ladder.RunNotFound):
        ladder.get_run(drop.id)
    assert [r.id for r in ladder.search_runs().runs] == [keep.id]


def test_a_run_is_found_by_a_unique_id_prefix(workspace) -> None:
    with ladder.start_run() as run:
        pass
    assert ladder.get_run(run.id[:20]).id == run.id
    with pytest.raises(ladder.RunNotFound, match="no run"):
        ladder.get_run("zzzzzzzz")


def test_autolog_records_sklearn_params_fit_time_and_training_score(workspace) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    ladder.autolog()
    try:
        with ladder.start_run(name="auto") as run:
            LogisticRegression(C=0.5, max_iter=500).fit(X, y)
        LogisticRegression(C=2.0, max_iter=500).fit(X, y)  # no active run: a run of its own
    finally:
        ladder.autolog(disable=True)
    info = ladder.get_run(run.id)
    assert info.params["C"] == "0.5" and info.params["max_iter"] == "500"
    assert info.metrics["training_score"] > 0.9
    assert info.metrics["fit_time_s"] > 0
    own = ladder.search_runs(where="tags.`ladder.autolog` = 'sklearn'").runs
    assert len(own) == 1 and own[0].params["C"] == "2.0" and own[0].status == "finished"


def test_a_run_whose_process_died_can_be_ended_by_id_with_a_reason(workspace) -> None:
    from ladder.tracking import end_run_by_id

    run = ladder.start_run(name="orphan")
    assert end_run_by_id(run.id, "failed", tags={"ladder.error": "worker lost"})
    run.end()  # this process's handle: its status update finds the run ended already
    info = ladder.get_run(run.id)
    assert info.status == "failed" and info.end_time is not None
    assert info.tags["ladder.error"] == "worker lost"
    assert not end_run_by_id(run.id, "killed")  # already ended: left as it is
    assert ladder.get_run(run.id).status == "failed"
    with pytest.raises(ValueError, match="run status"):
        end_run_by_id(run.id, "paused")


def test_links_given_to_start_run_and_end_are_stored_with_the_run(workspace) -> None:
    from ladder.tracking import Link, run_links

    with ladder.start_run(
        name="step", links=[Link("input", "dataset", "loans@abc", "train")]
    ) as run:
        assert [(x.direction, x.ref, x.role) for x in run_links(run.id)] == [
            ("input", "loans@abc", "train")
        ]
        run.end(links=[Link("output", "artifact", "blake3:" + "0" * 64, "model")])
    links = {(x.direction, x.kind, x.ref, x.role) for x in run_links(run.id)}
    assert links == {
        ("input", "dataset", "loans@abc", "train"),
        ("output", "artifact", "blake3:" + "0" * 64, "model"),
    }
    assert ladder.get_run(run.id).status == "finished"


def test_a_bad_link_direction_starts_no_run(workspace) -> None:
    from ladder.tracking import Link

    with pytest.raises(
        ValueError, match=r"link direction: expected 'input' or 'output'.*'sideways'"
    ):
        ladder.start_run(name="refused", links=[Link("sideways", "dataset", "x@1")])
    assert ladder.active_run() is None
    assert ladder.search_runs().runs == []


def test_record_run_writes_an_ended_run_and_the_callers_rows_in_one_transaction(
    workspace,
) -> None:
    from sqlalchemy import text

    from ladder.tracking import Link, record_run, run_links

    with ladder.start_run(name="pipeline", kind="pipeline") as parent:
        pass
    run_id = record_run(
        "cached-step",
        kind="step",
        parent=parent.id,
        params={"C": 0.5},
        tags={"ladder.cache": "hit"},
        links=[Link("output", "artifact", "blake3:" + "1" * 64, "model")],
        start_time=1_700_000_000_000,
        end_time=1_700_000_000_250,
        workspace=workspace,
    )
    info = ladder.get_run(run_id)
    assert (info.status, info.kind, info.parent_id) == ("finished", "step", parent.id)
    assert (info.start_time, info.end_time) == (1_700_000_000_000, 1_700_000_000_250)
    assert info.params == {"C": "0.5"} and info.tags == {"ladder.cache": "hit"}
    assert info.git_commit == ladder.get_run(parent.id).git_commit
    assert [x.role for x in run_links(run_id)] == ["model"]
    assert ladder.active_run() is None

    def fail(session, run_id: str) -> None:
        session.execute(text("SELECT 1"))
        raise RuntimeError("the caller's write failed")

    before = len(ladder.search_runs().runs)
    with pytest.raises(RuntimeError, match="caller's write failed"):
        record_run("rolled-back", also=fail, workspace=workspace)
    assert len(ladder.search_runs().runs) == before  # nothing of it was kept
    with pytest.raises(ValueError, match=r"run status: expected one of"):
        record_run("bad", status="running", workspace=workspace)


def test_the_recorded_packages_are_what_the_metadata_parser_reads(tmp_path: Path) -> None:
    """The fast header scan gives the same name==version list as ``importlib.metadata``."""
    from importlib import metadata

    from ladder.tracking.environment import _name_version

    for dist in metadata.distributions():
        assert _name_version(dist) == (dist.metadata["Name"], dist.version)
    # A file whose headers are not where the scan looks still gets its name and version.
    odd = tmp_path / "odd-1.0.dist-info"
    odd.mkdir()
    (odd / "METADATA").write_text("Metadata-Version: 2.1\nSummary: x\n\nName: not-a-header\n")
    assert _name_version(metadata.PathDistribution(odd)) == (None, None)
    late = tmp_path / "late-2.0.dist-info"
    late.mkdir()
    (late / "METADATA").write_text(
        "Metadata-Version: 2.1\nRequires-Dist: a\nVersion: 2.0\nName: late\n\nName: body\n"
    )
    assert _name_version(metadata.PathDistribution(late)) == ("late", "2.0")


def test_a_run_opened_elsewhere_is_adopted_by_code_that_logs_to_it_then_ended_by_its_owner(
    workspace,
) -> None:
    """How a pipeline's worker process logs to a step run the orchestrating process opened."""
    from ladder import run_context
    from ladder.tracking import StoredArtifact

    owner = ladder.start_run(name="step", params={"C": 1}, active=False, workspace=workspace)
    assert ladder.active_run() is None  # opened, not made this process's active run
    with run_context.working_for(owner.id, workspace.settings):
        ladder.log_metric("loss", 0.5)
        ladder.log_metric("loss", 0.25)
        adopted = ladder.active_run()
        assert adopted is not None and adopted.id == owner.id and adopted is not owner
        with pytest.raises(ladder.ParamConflict):
            ladder.log_param("C", 2)  # the params the owner wrote are known to the adopter
    assert ladder.active_run() is None  # released when the block ends: points written
    assert ladder.get_run(owner.id).status == "running"
    assert [(s, v) for s, _, v in metric_history(owner.id, "loss")] == [(0, 0.5), (1, 0.25)]
    stored = workspace.artifacts.put_bytes(b'{"auc": 0.9}')
    owner.end("finished", artifacts=[StoredArtifact("outputs/output.json", stored.digest, 12)])
    info = ladder.get_run(owner.id)
    assert info.status == "finished" and info.metrics == {"loss": 0.25}
    (artifact,) = ladder.list_artifacts(owner.id)
    assert (artifact.path, artifact.digest, artifact.media_type) == (
        "outputs/output.json",
        stored.digest,
        "application/json",
    )
    with (
        run_context.working_for(owner.id, workspace.settings),
        pytest.raises(ladder.RunNotActive, match="has ended"),
    ):
        ladder.log_metric("late", 1.0)
    with pytest.raises(ladder.UnsafePath):
        ladder.start_run(active=False, workspace=workspace).end(
            artifacts=[StoredArtifact("../escape", stored.digest, 12)]
        )

"""The autopilot loop: triggers, guards, failures, rollback, restarts, one autopilot at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.automation.automation_project import make_project
from tests.conftest import postgres_schema_url

import ladder
from ladder.automation import Autopilot, fire_trigger, list_events
from ladder.errors import ConfigError
from ladder.registry import get_aliases
from ladder.workspace import Workspace


def kinds(model: str = "loans") -> list[str]:
    return [e.kind for e in list_events(model=model, limit=1000)]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child ``ladder`` process working on the project at ``home``."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "LADDER_HOME": str(home),
        **extra,
    }


def armed_autopilot(home: Path, trigger: str) -> tuple[Workspace, Autopilot]:
    """A project with the extra ``trigger`` table, after the tick that arms it (nothing fires)."""
    ws = make_project(home)
    config = home / "ladder.toml"
    config.write_text(config.read_text() + trigger)
    pilot = Autopilot(workspace=ws)
    pilot.tick()
    assert "trigger_fired" not in kinds()
    return ws, pilot


def test_a_manual_trigger_retrains_gates_and_promotes_without_a_deployment(
    isolated: Path,
) -> None:
    ws = make_project(isolated)
    fire_trigger("manual", workspace=ws)
    report = Autopilot(workspace=ws).tick()
    assert any("fired" in action for action in report.actions)
    assert kinds() == [
        "trigger_fired",
        "pipeline_started",
        "pipeline_finished",
        "candidate_registered",
        "gate_passed",
        "promoted",
    ]
    assert get_aliases("loans", workspace=ws)["champion"] == 2
    promoted = list_events(model="loans")[-1]
    assert "loans/2 promoted to champion" in promoted.message
    assert "previous champion: loans/1" in promoted.message


def test_a_failing_pipeline_is_recorded_leaves_the_champion_and_is_retried_after_cooldown(
    isolated: Path,
) -> None:
    ws = make_project(isolated, cooldown="2s")
    (isolated / "FAIL_TRAINING").write_text("x")
    fire_trigger("manual", workspace=ws)
    Autopilot(workspace=ws).tick()
    assert kinds()[-1] == "pipeline_failed"
    assert "FAIL_TRAINING" in list_events(model="loans")[-1].message
    assert get_aliases("loans", workspace=ws)["champion"] == 1
    # Within the cooldown a new firing is skipped, with the reason.
    fire_trigger("manual", workspace=ws)
    Autopilot(workspace=ws).tick()
    assert kinds()[-1] == "trigger_skipped"
    assert "cooldown" in list_events(model="loans")[-1].message
    (isolated / "FAIL_TRAINING").unlink()
    time.sleep(2.1)
    fire_trigger("manual", workspace=ws)
    Autopilot(workspace=ws).tick()
    assert kinds()[-1] == "promoted"
    assert get_aliases("loans", workspace=ws)["champion"] == 2


def test_a_gate_failure_never_deploys_anything(isolated: Path) -> None:
    from ladder.serving import get_deployment

    ws = make_project(isolated, shuffle=True, deployment=True)  # trained on shuffled labels
    before = get_deployment("loans", workspace=ws)
    fire_trigger("manual", workspace=ws)
    Autopilot(workspace=ws).tick()
    assert kinds()[-1] == "gate_failed"
    failed = list_events(model="loans")[-1]
    assert "roc_auc" in failed.message and "nothing is deployed" in failed.message
    after = get_deployment("loans", workspace=ws)
    assert after.revision == before.revision and after.policy == before.policy
    assert get_aliases("loans", workspace=ws)["champion"] == 1
    explained = ladder.automation.explain("loans/2", workspace=ws)
    assert "not serving" in explained.verdict and "gate failed" in explained.verdict


def test_a_canary_without_enough_evidence_in_time_is_rolled_back(isolated: Path) -> None:
    from ladder.serving import get_deployment

    ws = make_project(isolated, deployment=True, max_wait="1s")
    fire_trigger("manual", workspace=ws)
    pilot = Autopilot(workspace=ws)
    pilot.tick()
    assert kinds()[-1] == "canary_started"
    policy = get_deployment("loans", workspace=ws).policy
    assert policy.variant("canary") is not None and policy.variant("canary").model == "loans/2"
    time.sleep(1.2)
    pilot.tick()
    assert kinds()[-2:] == ["canary_evaluated", "rolled_back"]
    assert "insufficient evidence" in list_events(model="loans")[-1].message
    policy = get_deployment("loans", workspace=ws).policy
    assert policy.variant("canary") is None
    assert policy.variant("primary").model == "loans@champion"
    assert get_aliases("loans", workspace=ws)["champion"] == 1


def test_a_loop_interrupted_while_promoting_is_finished_by_the_next_tick(isolated: Path) -> None:
    """The state a kill between the alias move and the policy change leaves is completed."""
    from ladder.automation.models import LoopRow
    from ladder.serving import get_deployment, set_deployment

    ws = make_project(isolated, deployment=True)
    fire_trigger("manual", workspace=ws)
    pilot = Autopilot(workspace=ws)
    pilot.tick()  # now in canary
    loop_id = list_events(model="loans")[-1].loop_id
    # A process that died mid-promotion: stage written, alias moved, canary still there.
    ladder.promote("loans/2", "champion", reason="half-done promotion", workspace=ws)
    ws.store.write(lambda session: setattr(session.get(LoopRow, loop_id), "stage", "promoting"))
    assert get_deployment("loans", workspace=ws).policy.variant("canary") is not None
    pilot.tick()
    policy = get_deployment("loans", workspace=ws).policy
    assert policy.variant("canary") is None
    assert get_aliases("loans", workspace=ws)["champion"] == 2
    assert kinds()[-1] == "promoted"
    with pytest.raises(ladder.LadderError):  # nothing left to change: the loop is over
        set_deployment("loans", no_canary=True, workspace=ws)


def test_an_autopilot_killed_at_any_moment_leaves_old_or_new_policy_and_restarts_cleanly(
    isolated: Path,
) -> None:
    from ladder.serving import get_deployment

    ws = make_project(isolated, deployment=True)
    before = get_deployment("loans", workspace=ws).policy
    env = cli_env(isolated)
    for delay in (0.5, 1.5, 3.0):
        fire_trigger("manual", workspace=ws)
        child = subprocess.Popen(
            [sys.executable, "-m", "ladder.cli", "autopilot", "tick"],
            env=env,
            cwd=isolated,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        child.kill()
        child.wait()
        policy = get_deployment("loans", workspace=ws).policy
        canary = policy.variant("canary")
        # Either the old policy, or the old one plus a whole canary: never anything else.
        assert policy.variant("primary") == before.variant("primary")
        assert canary is None or canary.share == 50
    Autopilot(workspace=ws).tick()
    assert ladder.automation.list_events(model="loans")  # the restart recorded what it did
    active = [e for e in list_events(model="loans") if e.kind == "loop_failed"]
    assert all("stage" in e.details for e in active)


def test_an_invalid_configuration_is_a_clear_error_and_nothing_acts(isolated: Path) -> None:
    ws = make_project(isolated)
    text = (isolated / "ladder.toml").read_text().replace('cooldown = "1h"', 'cooldown = "later"')
    (isolated / "ladder.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"line \d+, triggers\.manual"):
        Autopilot(workspace=ws)
    result = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "autopilot", "tick"],
        env=cli_env(isolated),
        cwd=isolated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "cooldown" in result.stderr
    assert list_events(limit=10, workspace=ws) == []


_TICK = """
import sys
from ladder.automation import Autopilot
report = Autopilot().tick()
print("held" if report.held_lock else "skipped", flush=True)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_autopilots_against_one_store_never_act_twice(
    isolated: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = cli_env(isolated, LADDER_TEST_TRAIN_SECONDS="6")
    if backend == "postgres":
        uri = postgres_schema_url()
        monkeypatch.setenv("LADDER_STORE_URI", uri)
        env["LADDER_STORE_URI"] = uri
    ws = make_project(isolated)
    fire_trigger("manual", workspace=ws)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _TICK],
            env=env,
            cwd=isolated,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["held", "skipped"]
    assert kinds().count("trigger_fired") == 1
    assert kinds().count("candidate_registered") == 1


def test_a_canary_whose_error_rate_passes_the_limit_is_rolled_back_without_losing_requests(
    isolated: Path,
) -> None:
    import threading

    import httpx
    from tests.serving.serving_helpers import free_port

    from ladder.quickstart import FEATURES, loan_applications
    from ladder.serving import get_deployment

    ws = make_project(isolated, deployment=True, broken=True)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ladder.cli",
            "serve",
            "--deployment",
            "loans",
            "--port",
            str(port),
            "--trust",
            "--flush-seconds",
            "0.2",
            "--poll-seconds",
            "0.2",
        ],
        env=cli_env(isolated),
        cwd=isolated,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    rows = loan_applications(400, seed=11)[list(FEATURES)].to_dict(orient="records")
    outcomes: list[tuple[int, str | None]] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        fire_trigger("manual", workspace=ws)
        pilot = Autopilot(workspace=ws)
        pilot.tick()
        assert kinds()[-1] == "canary_started"
        time.sleep(1.0)  # the server picks the canary up

        stop = threading.Event()

        def clients() -> None:
            with httpx.Client(timeout=30) as client:
                index = 0
                while not stop.is_set():
                    response = client.post(
                        f"{url}/predict", json={"records": [rows[index % len(rows)]]}
                    )
                    body = response.json()
                    outcomes.append((response.status_code, body.get("variant")))
                    index += 1

        worker = threading.Thread(target=clients)
        worker.start()
        time.sleep(3.0)  # evidence: about half the requests hit the failing canary
        pilot.tick()  # judged while the clients keep sending
        time.sleep(2.0)
        stop.set()
        worker.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert kinds()[-2:] == ["canary_evaluated", "rolled_back"]
    assert "error rate" in list_events(model="loans")[-1].message
    assert get_deployment("loans", workspace=ws).policy.variant("canary") is None
    assert get_aliases("loans", workspace=ws)["champion"] == 1
    failures = [o for o in outcomes if o[0] != 200]
    assert failures, "the failing canary should have answered some requests with 500"
    # No request was lost: every one was answered, and only the canary ever failed.
    assert all(status == 500 for status, _ in failures)
    assert all(variant == "primary" for status, variant in outcomes if status == 200)
    last = outcomes[-20:]
    assert all(status == 200 for status, _ in last)  # after the rollback, everything succeeds


def test_a_new_dataset_version_fires_a_dataset_trigger_once(isolated: Path) -> None:
    from ladder.data import dataset
    from ladder.quickstart import loan_applications

    # The arming tick notes the current version: nothing fires.
    ws, pilot = armed_autopilot(
        isolated, '\n[triggers.new-data]\non = "dataset"\ndataset = "loans"\nmodel = "loans"\n'
    )
    dataset.add("loans", loan_applications(900, seed=21), workspace=ws)
    pilot.tick()
    fired = [e for e in list_events(model="loans") if e.kind == "trigger_fired"]
    assert len(fired) == 1 and "new version loans@2" in fired[0].message
    assert kinds()[-1] == "promoted"
    pilot.tick()  # the same version does not fire again
    assert [e.kind for e in list_events(model="loans")].count("trigger_fired") == 1


def test_a_due_schedule_fires_its_trigger(isolated: Path) -> None:
    from ladder.automation.models import TriggerStateRow

    # Armed now, the first slot is the next minute: nothing fires yet.
    ws, pilot = armed_autopilot(
        isolated,
        '\n[triggers.every-minute]\non = "schedule"\ncron = "* * * * *"\nmodel = "loans"\n',
    )
    two_minutes_ago = int(time.time() * 1000) - 120_000
    ws.store.write(
        lambda session: setattr(
            session.get(TriggerStateRow, "every-minute"), "armed", two_minutes_ago
        )
    )
    pilot.tick()
    fired = [e for e in list_events(model="loans") if e.kind == "trigger_fired"]
    assert len(fired) == 1 and "schedule '* * * * *' is due" in fired[0].message


def test_autopilot_run_stops_cleanly_on_sigterm(isolated: Path) -> None:
    import signal

    make_project(isolated)
    child = subprocess.Popen(
        [sys.executable, "-m", "ladder.cli", "autopilot", "run", "--interval", "0.2"],
        env=cli_env(isolated),
        cwd=isolated,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert "autopilot running" in child.stdout.readline()
    time.sleep(1.0)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "autopilot stopped" in out


def test_events_cli_lists_the_timeline_and_explains_a_version(isolated: Path) -> None:
    ws = make_project(isolated)
    fire_trigger("manual", workspace=ws)
    Autopilot(workspace=ws).tick()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ladder.cli", *args],
            env=cli_env(isolated, COLUMNS="200"),
            cwd=isolated,
            capture_output=True,
            text=True,
            check=False,
        )

    listed = cli("events", "--model", "loans")
    assert listed.returncode == 0, listed.stderr
    assert "gate_passed" in listed.stdout and "promoted" in listed.stdout
    explained = cli("events", "explain", "loans/2")
    assert explained.returncode == 0 and "loans/2" in explained.stdout
    checked = cli("config", "check")
    assert checked.returncode == 0 and "valid" in checked.stdout
    unknown = cli("trigger", "fire", "nope")
    assert unknown.returncode == 2 and "manual" in unknown.stderr


def test_a_model_returned_by_the_pipeline_is_registered_with_the_pipeline_run_as_producer(
    isolated: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression

    from ladder.registry import get_model_version

    ws = make_project(isolated)

    @ladder.step
    def fit() -> LogisticRegression:
        return LogisticRegression().fit([[0.0], [1.0]], [0, 1])

    @ladder.pipeline
    def training():
        return fit()

    result = training.run()
    number = Autopilot(workspace=ws)._register("loans", result.output, result.run_id)
    version = get_model_version(f"loans/{number}", workspace=ws)
    assert version.pipeline_run_id == result.run_id
    assert version.run_id == result.run_id

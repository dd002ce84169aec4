"""DVC evidence: pointer files (``*.dvc``), pipelines (``dvc.yaml``), their lock and remotes."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ladder.maturity.scan import RepoScan

# A path that names a trained model by folder, extension or file name.
MODEL_PATH = re.compile(
    r"(?:^|/)models?(?:/|$)|\.(?:pkl|pickle|joblib|onnx|pt|pth|h5|keras|safetensors|skops|ubj|cbm"
    r"|bst|pb)$|(?:^|/)model[\w.-]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DvcStage:
    """One stage of a ``dvc.yaml`` pipeline."""

    file: str
    name: str
    command: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    locked: bool  # dvc.lock records the hashes of its deps and outs


@dataclass(frozen=True)
class DvcEvidence:
    initialised: bool  # a .dvc/ folder exists
    remotes: tuple[str, ...]
    pointers: tuple[str, ...]  # *.dvc files
    tracked: tuple[str, ...]  # the paths the pointer files version
    stages: tuple[DvcStage, ...]
    model_artifacts: tuple[str, ...]  # dvc.yaml ``artifacts`` of type model, and model-like outs
    problems: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.initialised or bool(self.pointers or self.stages)


def read_dvc(scan: RepoScan) -> DvcEvidence:
    problems: list[str] = []
    initialised = (scan.root / ".dvc").is_dir()
    remotes = _remotes(scan, problems) if initialised else ()
    tracked: list[str] = []
    for pointer in scan.dvc_pointers:
        document = _load(scan, pointer, problems)
        folder = pointer.rsplit("/", 1)[0] + "/" if "/" in pointer else ""
        for out in (document or {}).get("outs") or []:
            if isinstance(out, dict) and out.get("path"):
                tracked.append(folder + str(out["path"]))
    stages: list[DvcStage] = []
    artifacts: list[str] = []
    for pipeline_file in scan.named("dvc.yaml"):
        document = _load(scan, pipeline_file, problems) or {}
        folder = pipeline_file.rsplit("/", 1)[0] + "/" if "/" in pipeline_file else ""
        lock_path = folder + "dvc.lock"
        lock = _load(scan, lock_path, problems) if lock_path in scan.texts else None
        locked_stages = set((lock or {}).get("stages") or {})
        for name, stage in (document.get("stages") or {}).items():
            if not isinstance(stage, dict):
                continue
            command = stage.get("cmd", "")
            stages.append(
                DvcStage(
                    file=pipeline_file,
                    name=str(name),
                    command=" && ".join(command) if isinstance(command, list) else str(command),
                    deps=tuple(_paths(stage.get("deps"))),
                    outs=tuple(_paths(stage.get("outs"))),
                    params=tuple(_params(stage.get("params"))),
                    metrics=tuple(_paths(stage.get("metrics"))),
                    locked=str(name) in locked_stages,
                )
            )
        for name, artifact in (document.get("artifacts") or {}).items():
            if isinstance(artifact, dict) and artifact.get("type") == "model":
                artifacts.append(f"{name} ({artifact.get('path', '?')})")
    model_outs = [o for s in stages for o in s.outs if MODEL_PATH.search(o)]
    model_outs += [t for t in tracked if MODEL_PATH.search(t)]
    return DvcEvidence(
        initialised=initialised,
        remotes=remotes,
        pointers=tuple(scan.dvc_pointers),
        tracked=tuple(sorted(tracked)),
        stages=tuple(stages),
        model_artifacts=tuple(sorted(set(artifacts + model_outs))),
        problems=tuple(problems),
    )


def _paths(entries: Any) -> list[str]:
    """Paths of a stage's ``deps``/``outs``, which are strings or one-key mappings with options."""
    paths = []
    for entry in entries or []:
        if isinstance(entry, str):
            paths.append(entry)
        elif isinstance(entry, dict):
            paths.extend(str(k) for k in entry)
    return paths


def _params(entries: Any) -> list[str]:
    """Param names of a stage: ``- lr`` (from params.yaml) or ``- other.yaml: [a, b]``."""
    names = []
    for entry in entries or []:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict):
            for file, keys in entry.items():
                if keys:
                    names.extend(f"{file}:{k}" for k in keys)
                else:
                    names.append(str(file))
    return names


def _load(scan: RepoScan, path: str, problems: list[str]) -> dict[str, Any] | None:
    text = scan.texts.get(path)
    if text is None:
        try:
            text = (scan.root / path).read_text(errors="replace")
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror})")
            return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{path}: invalid YAML ({str(exc).splitlines()[0]})")
        return None
    return document if isinstance(document, dict) else None


def _remotes(scan: RepoScan, problems: list[str]) -> tuple[str, ...]:
    names = []
    for config_name in ("config", "config.local"):
        path = scan.root / ".dvc" / config_name
        if not path.is_file():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read_string(path.read_text(errors="replace"))
        except (configparser.Error, OSError) as exc:
            problems.append(f".dvc/{config_name}: cannot be parsed ({exc})")
            continue
        # DVC writes remote sections as ['remote "name"'], quotes included
        names += [
            m.group(1) for s in parser.sections() if (m := re.search(r'remote\s+"([^"]+)"', s))
        ]
    return tuple(sorted(set(names)))

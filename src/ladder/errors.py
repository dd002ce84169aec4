"""The exception hierarchy. Every error a user can cause is a ``LadderError``.

Each message names the object, what was expected and what was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class LadderError(Exception):
    """Base class of every error Ladder raises on purpose."""


class ConfigError(LadderError):
    """Raised when ``ladder.toml`` or a ``LADDER_*`` variable is invalid."""


class StoreError(LadderError):
    """Raised when the metadata store cannot be opened, migrated or written."""


class InvalidKey(LadderError, ValueError):
    """Raised when a param, metric or tag key has forbidden characters or is too long."""


class InvalidValue(LadderError, ValueError):
    """Raised when a param or tag value is too long or of a type that cannot be stored."""


class ParamConflict(LadderError, ValueError):
    """Raised when a param is logged again with a different value (params are immutable)."""


class RunNotFound(LadderError, LookupError):
    """Raised when a run id (or unique prefix) matches no run."""


class RunNotActive(LadderError):
    """Raised when logging to a run that has ended, or with no active run."""


class ArtifactNotFound(LadderError, LookupError):
    """Raised when an artifact name or digest is not in the store."""


class ArtifactCorrupted(LadderError):
    """Raised when stored bytes do not hash to the digest they are filed under."""


class UnsafePath(LadderError, ValueError):
    """Raised when an artifact name or path would escape its namespace or destination."""


class FilterSyntaxError(LadderError, ValueError):
    """Raised when a ``--where`` / ``search_runs(where=...)`` expression cannot be parsed."""


# -- model registry -------------------------------------------------------------------------


class InvalidModelURI(LadderError, ValueError):
    """Raised when a model URI is not ``name/3``, ``name@alias`` or ``name@latest``, or a
    model or alias name has forbidden characters."""


class ModelNotFound(LadderError, LookupError):
    """Raised when a model name or version number is not registered (the message lists what is)."""


class AliasNotFound(LadderError, LookupError):
    """Raised when ``name@alias`` names an alias the model does not have (message lists them)."""


class AliasConflict(LadderError):
    """Raised when an alias moved between reading it and moving it (a concurrent move won)."""


class ModelNameMismatch(LadderError, ValueError):
    """Raised when a version of one model is pointed at by an alias or gate of another model."""


class UnsupportedModel(LadderError, TypeError):
    """Raised when no safe flavor can save an object, or a flavor's library is not installed."""


class UntrustedModel(LadderError):
    """Raised when loading would execute code Ladder cannot vouch for: a skops file with a type
    outside the trusted list, or a ``python`` (cloudpickle) model loaded without ``trust=True``."""


@dataclass(frozen=True)
class SignatureProblem:
    """One reason an input does not match a model signature; ``row`` is None for a whole column."""

    column: str
    expected: str
    given: str
    reason: str
    row: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "expected": self.expected,
            "given": self.given,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        where = f"row {self.row!r}, " if self.row is not None else ""
        return (
            f"{where}column {self.column!r}: {self.reason} "
            f"(expected {self.expected}, given {self.given})"
        )


class SignatureMismatch(LadderError, ValueError):
    """Raised when model input does not match the model's signature: a missing or extra column,
    a value of the wrong type, or a null where the signature forbids it. ``problems`` lists
    each one (row, column, expected, given)."""

    def __init__(self, message: str, problems: list[SignatureProblem]) -> None:
        super().__init__(message)
        self.problems = problems


class InvalidGateSpec(LadderError, ValueError):
    """Raised when a gate's metrics, thresholds, label or slice column are invalid."""


class GateFailed(LadderError):
    """Raised when ``promote`` finds no passing gate for the candidate against the alias holder
    (and ``force=True`` with a reason was not given)."""


# -- datasets (ladder.data) ------------------------------------------------------------------
class InvalidDatasetName(LadderError, ValueError):
    """Raised when a dataset name or ``name@version`` is malformed (``/``, spaces, ``..``)."""


class DatasetNotFound(LadderError, LookupError):
    """Raised when no dataset of that name exists in the project; the message lists the names."""


class DatasetVersionNotFound(DatasetNotFound):
    """Raised when ``name@version`` names a version that does not exist; the message lists them."""


class DatasetSourceError(LadderError):
    """Raised when a dataset source is missing, unreadable or of a type that cannot be versioned."""


class EmptyDataset(LadderError, ValueError):
    """Raised when a source has nothing to version (empty file or folder, a table of 0 rows)."""


class SourceChanged(LadderError):
    """Raised when a file changes while it is hashed, copied or profiled; nothing is recorded."""


class MixedTypes(LadderError, ValueError):
    """Raised when a column holds values of more than one type (numbers and text, say)."""


class SourceEncodingError(LadderError, ValueError):
    """Raised when a CSV or JSON Lines file is not in the expected encoding (UTF-8 by default)."""


class NotTabular(LadderError, TypeError):
    """Raised when ``to_pandas`` or ``validate`` is asked of a dataset of plain files."""


class SchemaMismatch(LadderError):
    """Raised by ``ValidationReport.raise_if_failed`` when new data fails a blocking check."""


# -- pipelines (ladder.pipelines) ------------------------------------------------------------
class PipelineDefinitionError(LadderError):
    """Raised when a pipeline or step is defined or called wrongly: arguments that do not bind to
    the step's signature, a step output used as a plain value while the pipeline is being built,
    a reserved parameter name, or a pipeline that returns something other than step outputs."""


class ParameterTypeError(LadderError, TypeError):
    """Raised before anything runs when a pipeline or step parameter mismatches its type hint."""


class MaterializerNotFound(LadderError, TypeError):
    """Raised when a step returns (or is given) a value of a type no materializer handles; the
    message names the step, the type and how to register a materializer."""


class MaterializerError(LadderError):
    """Raised when a step value cannot be saved or loaded: a skops file holding a type outside
    the trusted list, a value its materializer refuses, or a file from a newer materializer."""


class PipelineFailed(LadderError):
    """Raised by ``Pipeline.run`` when a step failed after its retries; the message carries the
    step's traceback and ``result`` holds every step's status."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class PipelineNotFound(LadderError, LookupError):
    """Raised when ``module:pipeline`` cannot be imported, names no pipeline, or a run id is not
    a pipeline run."""


class PipelineNotResumable(LadderError):
    """Raised when ``resume`` is asked of a pipeline run that is still running or has finished."""


class ExecutorError(LadderError):
    """Raised when an executor is unknown, Ray is missing or unreachable, or a ``ray://`` cluster
    would not see the metadata or artifact store."""


class InvalidReadOption(LadderError, ValueError):
    """Raised when a dataset read option (encoding, delimiter, column type) is not valid."""


# -- serving and deployments (ladder.serving) ------------------------------------------------
class DeploymentNotFound(LadderError, LookupError):
    """Raised when a deployment name is not stored in the project; the message lists the names."""


class DeploymentExists(LadderError):
    """Raised by ``create_deployment`` when a deployment of that name already exists."""


class InvalidTrafficPolicy(LadderError, ValueError):
    """Raised when a traffic policy is malformed: a bad ``MODEL:PERCENT`` spec, shares outside
    0–100, a canary and an A-B split together, or a variant whose model is not registered."""


class NothingToRollBack(LadderError):
    """Raised by ``rollback_deployment`` when the deployment has no earlier policy to return to."""


class InvalidPayload(LadderError, ValueError):
    """Raised (as HTTP 400) when a request body is not valid JSON or CSV, or is not one of the
    accepted table layouts (records, columns, ``dataframe_split``, v2 tensors…), or is empty."""


class UnsupportedContentType(LadderError, ValueError):
    """Raised (as HTTP 415) when a request's content type is not one the server reads (JSON, and
    CSV for ``/invocations``); nothing else, pickle in particular, is ever deserialised."""


class PayloadTooLarge(LadderError, ValueError):
    """Raised (as HTTP 413) as soon as a request body grows past the server's body limit."""


# -- monitoring (ladder.monitoring) ----------------------------------------------------------
class MonitorNotFound(LadderError, LookupError):
    """Raised when a monitor name is not stored in the project; the message lists the names."""


class MonitorExists(LadderError):
    """Raised by ``create_monitor`` when a monitor of that name exists (pass ``replace=True``)."""


class InvalidMonitorSpec(LadderError, ValueError):
    """Raised when a monitor setting is invalid: a window that is neither a count nor a duration,
    an unknown drift method or one that does not fit the column's kind, a threshold out of range."""


class AlertRuleSyntaxError(LadderError, ValueError):
    """Raised when an alert rule such as ``drift_share > 0.3`` cannot be parsed; the message shows
    the rule and the position of the problem."""


class ColumnMismatch(LadderError, ValueError):
    """Raised when reference and current data share no column to compare, or requested columns
    are missing from one side; the message names the columns on each side."""


class InvalidProbabilities(LadderError, ValueError):
    """Raised when predicted probabilities fall outside [0, 1] (or are not numbers); the message
    names the column, how many values are out of range and an example."""


class ReferenceNotFound(LadderError, LookupError):
    """Raised when a monitor has no reference: none was given and the served model version's
    lineage records no training dataset."""


# -- maturity assessment (ladder.maturity) ---------------------------------------------------
class AssessPathError(LadderError, ValueError):
    """Raised when ``ladder assess`` is given a path that does not exist, is not a folder, or
    cannot be listed; the message names the path and what was found there."""

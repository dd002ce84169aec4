"""The exception hierarchy. Every error a user can cause is a ``LadderError``.

Each message names the object, what was expected and what was given.
"""

from __future__ import annotations


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

"""Tables owned by the registry slice.

Run ids are stored as plain strings, not foreign keys: runs belong to the
tracking slice and are read through its public functions.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class RegisteredModelRow(Base):
    """A model name in a project; its row is locked to number versions and move aliases."""

    __tablename__ = "registered_models"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250))
    name: Mapped[str] = mapped_column(String(250))
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("project", "name", name="uq_registered_models_name"),)


class ModelVersionRow(Base):
    """One registered version: where its files are, how to load them, where it came from."""

    __tablename__ = "model_versions"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(32))
    artifact_digest: Mapped[str] = mapped_column(String(80))  # manifest of the model's files
    artifact_size: Mapped[int] = mapped_column(BigInteger)
    flavor_meta: Mapped[str] = mapped_column(Text)  # JSON, owned by the flavor
    signature: Mapped[str | None] = mapped_column(Text)  # JSON of Signature
    metrics: Mapped[str] = mapped_column(Text)  # JSON object name -> number
    requirements: Mapped[str] = mapped_column(Text)  # JSON list of "package==version"
    run_id: Mapped[str | None] = mapped_column(_ID, index=True)
    pipeline_run_id: Mapped[str | None] = mapped_column(_ID)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(250))

    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_number"),)


class ModelVersionDatasetRow(Base):
    """A dataset version a model version was trained or evaluated on."""

    __tablename__ = "model_version_datasets"

    version_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(512), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_model_version_datasets_ref", "ref"),)


class ModelAliasRow(Base):
    """Where an alias points now; its history is in ``model_alias_events``."""

    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[str] = mapped_column(_ID, ForeignKey("model_versions.id"))
    updated: Mapped[int] = mapped_column(BigInteger)


class ModelAliasEventRow(Base):
    """The audit trail of alias changes, including moves refused because another one won."""

    __tablename__ = "model_alias_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    model_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    alias: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # set | remove | rejected
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(250))
    reason: Mapped[str | None] = mapped_column(Text)
    evaluation_id: Mapped[str | None] = mapped_column(_ID)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_model_alias_events_alias", "model_id", "alias", "id"),)


class ModelEvaluationRow(Base):
    """A gate: a candidate and (optionally) the alias holder scored on the same data."""

    __tablename__ = "model_evaluations"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("registered_models.id", ondelete="CASCADE")
    )
    candidate_version: Mapped[int] = mapped_column(Integer)
    against: Mapped[str | None] = mapped_column(String(320))  # the URI as given
    champion_version: Mapped[int | None] = mapped_column(Integer)  # what it resolved to
    dataset_ref: Mapped[str | None] = mapped_column(String(512))
    label: Mapped[str] = mapped_column(String(250))
    slice_by: Mapped[str | None] = mapped_column(String(250))
    rows: Mapped[int] = mapped_column(BigInteger)
    passed: Mapped[bool] = mapped_column(Boolean)
    results: Mapped[str] = mapped_column(Text)  # JSON list of metric checks
    run_id: Mapped[str | None] = mapped_column(_ID)
    actor: Mapped[str] = mapped_column(String(250))
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_model_evaluations_candidate", "model_id", "candidate_version", "created"),
    )

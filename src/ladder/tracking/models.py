"""Tables owned by the tracking slice."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250), index=True)
    name: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(16), default="run")
    status: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    heartbeat: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str | None] = mapped_column(String(250))
    host: Mapped[str | None] = mapped_column(String(250))
    pid: Mapped[int | None] = mapped_column(Integer)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_branch: Mapped[str | None] = mapped_column(String(250))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    git_diff_digest: Mapped[str | None] = mapped_column(String(80))
    git_root: Mapped[str | None] = mapped_column(Text)
    command: Mapped[str | None] = mapped_column(Text)
    entry_point: Mapped[str | None] = mapped_column(Text)
    cwd: Mapped[str | None] = mapped_column(Text)
    environment_digest: Mapped[str | None] = mapped_column(
        String(80), ForeignKey("environments.digest")
    )

    __table_args__ = (Index("ix_runs_project_start", "project", "start_time"),)


class EnvironmentRow(Base):
    """A Python environment, stored once and shared by every run that used it."""

    __tablename__ = "environments"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    python: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(250))
    packages: Mapped[str] = mapped_column(Text)  # JSON list of "name==version"


class ParamRow(Base):
    __tablename__ = "params"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TagRow(Base):
    __tablename__ = "tags"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetricRow(Base):
    """One metric point. ``value`` NULL stands for NaN, which SQLite cannot store."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(_ID, ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)


class LatestMetricRow(Base):
    """The last point (highest step, then latest time) of each metric of each run."""

    __tablename__ = "latest_metrics"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value", "run_id"),)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))  # "file" or "dir" (a manifest)
    created: Mapped[int] = mapped_column(BigInteger)


class RunLinkRow(Base):
    """Lineage: an object a run read (input) or wrote (output), named by kind and reference.

    ``kind`` is the owning slice's word (``dataset``, ``model``, ``artifact``…) and
    ``ref`` its stable reference (``loans@<version id>``, ``loans/3``).
    """

    __tablename__ = "run_links"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)  # input | output
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(String(512), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_run_links_ref", "kind", "ref"),)

"""Tables owned by the serving slice: deployments, their change history, prediction-log parts."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class DeploymentRow(Base):
    """A named deployment: its current traffic policy and a revision bumped on every change.

    Servers poll ``revision`` (one indexed single-row read) to notice changes.
    """

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250))
    name: Mapped[str] = mapped_column(String(250))
    revision: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(Text)  # JSON of TrafficPolicy.to_dict()
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("project", "name", name="uq_deployments_name"),)


class DeploymentEventRow(Base):
    """One change of a deployment (create, set, rollback): who, when, why, and the policy set."""

    __tablename__ = "deployment_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    deployment_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("deployments.id", ondelete="CASCADE")
    )
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(250))
    reason: Mapped[str | None] = mapped_column(Text)
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_deployment_events_revision", "deployment_id", "revision", unique=True),
    )


class PredictionLogPartRow(Base):
    """The index of prediction-log and label-log Parquet parts held in the artifact store.

    Reads select parts by deployment and time window here instead of listing folders.
    """

    __tablename__ = "prediction_log_parts"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250))
    deployment: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(16))  # predictions | labels
    path: Mapped[str] = mapped_column(String(1024))  # logical, time-partitioned name
    digest: Mapped[str] = mapped_column(String(80))
    rows: Mapped[int] = mapped_column(BigInteger)
    min_ts: Mapped[int] = mapped_column(BigInteger)  # ms since the epoch, UTC
    max_ts: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_prediction_log_parts_window", "project", "deployment", "kind", "max_ts"),
    )

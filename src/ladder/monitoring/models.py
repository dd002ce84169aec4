"""Tables owned by the monitoring slice: monitors, their window results and fired alerts."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class MonitorRow(Base):
    """A monitor: what it watches (a deployment, or a current dataset) against which reference."""

    __tablename__ = "monitors"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250))
    name: Mapped[str] = mapped_column(String(250))
    deployment: Mapped[str | None] = mapped_column(String(250), index=True)
    reference: Mapped[str | None] = mapped_column(Text)  # None: the model's training dataset
    current: Mapped[str | None] = mapped_column(Text)  # a dataset or file, for table monitors
    settings: Mapped[str] = mapped_column(Text)  # JSON of MonitorSettings
    source: Mapped[str] = mapped_column(String(16))  # sdk | cli | config
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("project", "name", name="uq_monitors_name"),)


class MonitorResultRow(Base):
    """One evaluated window; ``payload`` is the full ``MonitorResult`` as JSON."""

    __tablename__ = "monitor_results"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    monitor_id: Mapped[str] = mapped_column(_ID, ForeignKey("monitors.id", ondelete="CASCADE"))
    project: Mapped[str] = mapped_column(String(250))
    deployment: Mapped[str | None] = mapped_column(String(250))
    variant: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(512))
    current: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[int | None] = mapped_column(BigInteger)
    window_end: Mapped[int | None] = mapped_column(BigInteger)
    drift_share: Mapped[float | None] = mapped_column(Double)
    dataset_drift: Mapped[bool | None] = mapped_column(Boolean)
    verdict: Mapped[str | None] = mapped_column(String(64))
    alert_count: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_monitor_results_monitor", "monitor_id", "variant", "window_end"),
        Index("ix_monitor_results_project", "project", "deployment", "created"),
    )


class MonitorAlertRow(Base):
    """A rule that fired on a window: an event automation can trigger on."""

    __tablename__ = "monitor_alerts"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    result_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("monitor_results.id", ondelete="CASCADE")
    )
    monitor_id: Mapped[str] = mapped_column(_ID, ForeignKey("monitors.id", ondelete="CASCADE"))
    project: Mapped[str] = mapped_column(String(250))
    deployment: Mapped[str | None] = mapped_column(String(250))
    variant: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str | None] = mapped_column(String(64))
    retrain_recommended: Mapped[bool] = mapped_column(Boolean)
    blocks_retraining: Mapped[bool] = mapped_column(Boolean)
    window_start: Mapped[int | None] = mapped_column(BigInteger)
    window_end: Mapped[int | None] = mapped_column(BigInteger)
    observed: Mapped[str] = mapped_column(Text)  # JSON: metric → value
    message: Mapped[str] = mapped_column(Text)
    fired_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_monitor_alerts_project", "project", "fired_at"),
        Index("ix_monitor_alerts_monitor", "monitor_id", "fired_at"),
    )

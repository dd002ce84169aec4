"""Tables owned by the automation slice: the event log, loops and trigger state."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base


class EventRow(Base):
    """One step of automation, with its reason and the figures behind it."""

    __tablename__ = "automation_events"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    time: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(250), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    deployment: Mapped[str | None] = mapped_column(String(250))
    trigger: Mapped[str | None] = mapped_column(String(250))
    loop_id: Mapped[str | None] = mapped_column(String(26), index=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)  # JSON object of the figures behind the message


class LoopRow(Base):
    """One retrain → gate → canary → promote/roll back cycle for one model."""

    __tablename__ = "automation_loops"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    model: Mapped[str] = mapped_column(String(250))
    trigger: Mapped[str] = mapped_column(String(250))
    stage: Mapped[str] = mapped_column(String(24))
    started: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)
    ended: Mapped[int | None] = mapped_column(BigInteger)
    candidate: Mapped[int | None] = mapped_column(Integer)
    champion: Mapped[int | None] = mapped_column(Integer)
    deployment: Mapped[str | None] = mapped_column(String(250))
    outcome: Mapped[str | None] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(Text)  # JSON: what the stage needs to resume

    __table_args__ = (Index("ix_automation_loops_model_stage", "model", "stage"),)


class TriggerStateRow(Base):
    """When each trigger last fired, and what it last saw (a dataset version, an alert)."""

    __tablename__ = "automation_triggers"

    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    armed: Mapped[int] = mapped_column(BigInteger)
    last_fired: Mapped[int | None] = mapped_column(BigInteger)
    last_seen: Mapped[str | None] = mapped_column(Text)

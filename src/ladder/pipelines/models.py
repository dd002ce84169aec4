"""Tables owned by the pipelines slice.

A pipeline run and each of its step runs are tracking runs (``runs``); these
tables hold what tracking does not: the DAG and the parameters a run was built
from (to show and resume it), each node's orchestration state (including nodes
that never started), and the step cache.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class PipelineRunRow(Base):
    __tablename__ = "pipeline_runs"

    run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline: Mapped[str] = mapped_column(String(250))
    entry: Mapped[str | None] = mapped_column(Text)  # "module:qualname" or "file.py:qualname"
    params: Mapped[str] = mapped_column(Text)  # JSON object of the validated pipeline params
    dag: Mapped[str] = mapped_column(Text)  # JSON: nodes with their step and upstream nodes
    executor: Mapped[str] = mapped_column(String(250))
    resumed_from: Mapped[str | None] = mapped_column(_ID)
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_pipeline_runs_pipeline_created", "pipeline", "created"),)


class PipelineStepRow(Base):
    """One node of one pipeline run: its latest attempt, cache key, outputs and error."""

    __tablename__ = "pipeline_steps"

    pipeline_run_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(250), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # topological order, for display
    step: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None] = mapped_column(_ID, ForeignKey("runs.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cache_key: Mapped[str | None] = mapped_column(String(80))
    cached_from: Mapped[str | None] = mapped_column(_ID)
    outputs: Mapped[str] = mapped_column(Text)  # JSON list of stored values
    error: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)


class CacheEntryRow(Base):
    """The outputs of one step execution, found again by its cache key. The first writer wins."""

    __tablename__ = "pipeline_cache"

    cache_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    step: Mapped[str] = mapped_column(String(250))
    outputs: Mapped[str] = mapped_column(Text)  # JSON list of stored values
    run_id: Mapped[str] = mapped_column(_ID)  # the step run that produced them
    created: Mapped[int] = mapped_column(BigInteger)

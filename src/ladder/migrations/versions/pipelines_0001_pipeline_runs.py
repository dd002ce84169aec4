"""Pipelines: pipeline runs, their steps' orchestration state, the step cache.

Revision ID: pipelines_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pipelines_0001"
down_revision = "0003_run_links"
branch_labels = ("pipelines",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column(
            "run_id", sa.String(26), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("pipeline", sa.String(250), nullable=False),
        sa.Column("entry", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("dag", sa.Text(), nullable=False),
        sa.Column("executor", sa.String(250), nullable=False),
        sa.Column("resumed_from", sa.String(26), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_pipeline_runs_pipeline_created", "pipeline_runs", ["pipeline", "created"])
    op.create_table(
        "pipeline_steps",
        sa.Column(
            "pipeline_run_id",
            sa.String(26),
            sa.ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node", sa.String(250), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "run_id", sa.String(26), sa.ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cache_key", sa.String(80), nullable=True),
        sa.Column("cached_from", sa.String(26), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "pipeline_cache",
        sa.Column("cache_key", sa.String(80), primary_key=True),
        sa.Column("step", sa.String(250), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_cache")
    op.drop_table("pipeline_steps")
    op.drop_index("ix_pipeline_runs_pipeline_created", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")

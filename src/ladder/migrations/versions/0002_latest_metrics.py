"""Latest-metric table for fast search and ordering; backfilled from existing points.

Revision ID: 0002_latest_metrics
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_latest_metrics"
down_revision = "0001_core"
branch_labels = None
depends_on = None

_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "latest_metrics",
        sa.Column("run_id", _ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double()),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value", "run_id"])
    op.create_index("ix_runs_project_start", "runs", ["project", "start_time"])
    # The last point of each (run, key): highest step, then latest timestamp, then last id.
    op.execute(
        """
        INSERT INTO latest_metrics (run_id, key, step, timestamp, value)
        SELECT m.run_id, m.key, m.step, m.timestamp, m.value
        FROM metrics m
        WHERE m.id = (
            SELECT m2.id FROM metrics m2
            WHERE m2.run_id = m.run_id AND m2.key = m.key
            ORDER BY m2.step DESC, m2.timestamp DESC, m2.id DESC
            LIMIT 1
        )
        """
    )


def downgrade() -> None:
    op.drop_index("ix_runs_project_start", "runs")
    op.drop_table("latest_metrics")

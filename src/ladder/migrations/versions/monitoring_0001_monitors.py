"""Monitoring: monitors, their window results and fired alerts.

Revision ID: monitoring_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0001"
down_revision = "0003_run_links"
branch_labels = ("monitoring",)
depends_on = None

_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("deployment", sa.String(250), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("current", sa.Text(), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("project", "name", name="uq_monitors_name"),
    )
    op.create_index("ix_monitors_deployment", "monitors", ["deployment"])
    op.create_table(
        "monitor_results",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "monitor_id", _ID, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("deployment", sa.String(250), nullable=True),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("model", sa.String(512), nullable=True),
        sa.Column("current", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=True),
        sa.Column("window_end", sa.BigInteger(), nullable=True),
        sa.Column("drift_share", sa.Double(), nullable=True),
        sa.Column("dataset_drift", sa.Boolean(), nullable=True),
        sa.Column("verdict", sa.String(64), nullable=True),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_monitor_results_monitor", "monitor_results", ["monitor_id", "variant", "window_end"]
    )
    op.create_index(
        "ix_monitor_results_project", "monitor_results", ["project", "deployment", "created"]
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "result_id",
            _ID,
            sa.ForeignKey("monitor_results.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "monitor_id", _ID, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("deployment", sa.String(250), nullable=True),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(64), nullable=True),
        sa.Column("retrain_recommended", sa.Boolean(), nullable=False),
        sa.Column("blocks_retraining", sa.Boolean(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=True),
        sa.Column("window_end", sa.BigInteger(), nullable=True),
        sa.Column("observed", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_monitor_alerts_project", "monitor_alerts", ["project", "fired_at"])
    op.create_index("ix_monitor_alerts_monitor", "monitor_alerts", ["monitor_id", "fired_at"])


def downgrade() -> None:
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_results")
    op.drop_table("monitors")

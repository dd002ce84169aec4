"""Automation: the event log, loops and trigger state.

Revision ID: automation_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "automation_0001"
down_revision = "0003_run_links"
branch_labels = ("automation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_events",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("time", sa.BigInteger(), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("model", sa.String(250), index=True),
        sa.Column("version", sa.Integer()),
        sa.Column("deployment", sa.String(250)),
        sa.Column("trigger", sa.String(250)),
        sa.Column("loop_id", sa.String(26), index=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_table(
        "automation_loops",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("model", sa.String(250), nullable=False),
        sa.Column("trigger", sa.String(250), nullable=False),
        sa.Column("stage", sa.String(24), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("ended", sa.BigInteger()),
        sa.Column("candidate", sa.Integer()),
        sa.Column("champion", sa.Integer()),
        sa.Column("deployment", sa.String(250)),
        sa.Column("outcome", sa.String(24)),
        sa.Column("state", sa.Text(), nullable=False),
    )
    op.create_index("ix_automation_loops_model_stage", "automation_loops", ["model", "stage"])
    op.create_table(
        "automation_triggers",
        sa.Column("name", sa.String(250), primary_key=True),
        sa.Column("armed", sa.BigInteger(), nullable=False),
        sa.Column("last_fired", sa.BigInteger()),
        sa.Column("last_seen", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("automation_triggers")
    op.drop_table("automation_loops")
    op.drop_table("automation_events")

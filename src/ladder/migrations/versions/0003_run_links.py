"""Run lineage links: what each run read and wrote.

Revision ID: 0003_run_links
Revises: 0002_latest_metrics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_run_links"
down_revision = "0002_latest_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_links",
        sa.Column(
            "run_id", sa.String(26), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("ref", sa.String(512), primary_key=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_run_links_ref", "run_links", ["kind", "ref"])


def downgrade() -> None:
    op.drop_table("run_links")

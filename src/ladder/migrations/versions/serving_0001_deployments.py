"""Serving: deployments, their change history and the prediction-log part index.

Revision ID: serving_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "serving_0001"
down_revision = "0003_run_links"
branch_labels = ("serving",)
depends_on = None

_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("project", "name", name="uq_deployments_name"),
    )
    op.create_table(
        "deployment_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "deployment_id",
            _ID,
            sa.ForeignKey("deployments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_deployment_events_revision",
        "deployment_events",
        ["deployment_id", "revision"],
        unique=True,
    )
    op.create_table(
        "prediction_log_parts",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("deployment", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("min_ts", sa.BigInteger(), nullable=False),
        sa.Column("max_ts", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_prediction_log_parts_window",
        "prediction_log_parts",
        ["project", "deployment", "kind", "max_ts"],
    )


def downgrade() -> None:
    op.drop_table("prediction_log_parts")
    op.drop_table("deployment_events")
    op.drop_table("deployments")

"""Core tracking tables: runs, environments, params, tags, metrics, artifacts.

Revision ID: 0001_core
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("python", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(250), nullable=False),
        sa.Column("packages", sa.Text(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project", sa.String(250), nullable=False, index=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("parent_id", _ID, sa.ForeignKey("runs.id", ondelete="SET NULL"), index=True),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger()),
        sa.Column("heartbeat", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(250)),
        sa.Column("host", sa.String(250)),
        sa.Column("pid", sa.Integer()),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_branch", sa.String(250)),
        sa.Column("git_dirty", sa.Boolean()),
        sa.Column("git_diff_digest", sa.String(80)),
        sa.Column("git_root", sa.Text()),
        sa.Column("command", sa.Text()),
        sa.Column("entry_point", sa.Text()),
        sa.Column("cwd", sa.Text()),
        sa.Column("environment_digest", sa.String(80), sa.ForeignKey("environments.digest")),
    )
    for table in ("params", "tags"):
        op.create_table(
            table,
            sa.Column(
                "run_id", _ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
            ),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text(), nullable=False),
        )
    op.create_table(
        "metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", _ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double()),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step"])
    op.create_table(
        "artifacts",
        sa.Column("run_id", _ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("artifacts", "metrics", "tags", "params", "runs", "environments"):
        op.drop_table(table)

"""Datasets and dataset versions (the data slice).

Revision ID: data_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "data_0001"
down_revision = "0003_run_links"
branch_labels = ("data",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("project", "name", name="uq_datasets_project_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column(
            "dataset_id",
            sa.String(26),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("table_format", sa.String(16), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("schema_json", sa.Text(), nullable=True),
        sa.Column("profile_json", sa.Text(), nullable=True),
        sa.Column("sample_digest", sa.String(80), nullable=True),
        sa.Column("sample_rows", sa.BigInteger(), nullable=True),
        sa.Column("sample_seed", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("created_by_run", sa.String(26), nullable=True),
        sa.UniqueConstraint("dataset_id", "version_id", name="uq_dataset_versions_content"),
    )
    op.create_index("ix_dataset_versions_version_id", "dataset_versions", ["version_id"])


def downgrade() -> None:
    op.drop_table("dataset_versions")
    op.drop_table("datasets")

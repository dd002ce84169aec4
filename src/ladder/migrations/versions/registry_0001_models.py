"""Model registry: registered models, versions, their datasets, aliases, alias audit, evaluations.

Revision ID: registry_0001
Revises: 0003_run_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = "0003_run_links"
branch_labels = ("registry",)
depends_on = None

_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project", sa.String(250), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("project", "name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "model_id",
            _ID,
            sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("artifact_digest", sa.String(80), nullable=False),
        sa.Column("artifact_size", sa.BigInteger(), nullable=False),
        sa.Column("flavor_meta", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text()),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("run_id", _ID),
        sa.Column("pipeline_run_id", _ID),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("git_dirty", sa.Boolean()),
        sa.Column("description", sa.Text()),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(250)),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_number"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "model_version_datasets",
        sa.Column(
            "version_id",
            _ID,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ref", sa.String(512), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
    )
    op.create_index("ix_model_version_datasets_ref", "model_version_datasets", ["ref"])
    op.create_table(
        "model_aliases",
        sa.Column(
            "model_id",
            _ID,
            sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version_id", _ID, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "model_alias_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "model_id",
            _ID,
            sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_version", sa.Integer()),
        sa.Column("to_version", sa.Integer()),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("evaluation_id", _ID),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_model_alias_events_alias", "model_alias_events", ["model_id", "alias", "id"]
    )
    op.create_table(
        "model_evaluations",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "model_id",
            _ID,
            sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("candidate_version", sa.Integer(), nullable=False),
        sa.Column("against", sa.String(320)),
        sa.Column("champion_version", sa.Integer()),
        sa.Column("dataset_ref", sa.String(512)),
        sa.Column("label", sa.String(250), nullable=False),
        sa.Column("slice_by", sa.String(250)),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("run_id", _ID),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_model_evaluations_candidate",
        "model_evaluations",
        ["model_id", "candidate_version", "created"],
    )


def downgrade() -> None:
    for table in (
        "model_evaluations",
        "model_alias_events",
        "model_aliases",
        "model_version_datasets",
        "model_versions",
        "registered_models",
    ):
        op.drop_table(table)

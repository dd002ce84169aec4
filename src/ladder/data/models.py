"""Tables owned by the data slice: datasets and their versions."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ladder.db import Base

_ID = String(26)


class DatasetRow(Base):
    """A named dataset of one project; its content lives in its versions."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    project: Mapped[str] = mapped_column(String(250))
    name: Mapped[str] = mapped_column(String(128))
    created: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("project", "name", name="uq_datasets_project_name"),)


class DatasetVersionRow(Base):
    """One immutable version: numbered per dataset, identified by the digest of its manifest.

    Schema and profile are JSON documents (``ladder.schema/1``, ``ladder.profile/1``);
    the reference sample is a Parquet object in the artifact store.
    """

    __tablename__ = "dataset_versions"

    dataset_id: Mapped[str] = mapped_column(
        _ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    table_format: Mapped[str | None] = mapped_column(String(16))  # None: plain files
    file_count: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    schema_json: Mapped[str | None] = mapped_column(Text)
    profile_json: Mapped[str | None] = mapped_column(Text)
    sample_digest: Mapped[str | None] = mapped_column(String(80))
    sample_rows: Mapped[int | None] = mapped_column(BigInteger)
    sample_seed: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger)
    created_by_run: Mapped[str | None] = mapped_column(_ID)

    __table_args__ = (
        UniqueConstraint("dataset_id", "version_id", name="uq_dataset_versions_content"),
    )

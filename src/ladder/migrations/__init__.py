"""Alembic migrations of the metadata store.

``HEAD_REVISION`` lets a process check that a store is current without importing
Alembic; a test keeps it equal to the script directory's head.
"""

HEAD_REVISION = "0002_latest_metrics"

"""Alembic migrations of the metadata store.

Each slice keeps its own branch of migrations (its first revision revises
``0003_run_links`` and carries the slice name as branch label), so slices
evolve their tables independently; the store is current when it is at every head.
``HEADS`` lets a process check that without importing Alembic; a test keeps it
equal to the script directory's heads.
"""

HEADS = frozenset(
    {
        "automation_0001",
        "registry_0001",
        "data_0001",
        "monitoring_0001",
        "pipelines_0001",
        "serving_0001",
    }
)

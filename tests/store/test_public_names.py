"""The public names of the lazily exported packages stay what they say, whatever was imported."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

LAZY_PACKAGES = ["ladder", "ladder.pipelines", "ladder.registry", "ladder.automation"]


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_every_exported_name_is_the_object_not_a_submodule_of_that_name(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for info in pkgutil.iter_modules(package.__path__):  # import every submodule first
        importlib.import_module(f"{package_name}.{info.name}")
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), f"{package_name}.{name} is a module"


def test_import_ladder_loads_no_database_layer_and_a_step_worker_neither() -> None:
    code = (
        "import sys, ladder, ladder.pipelines.executors.worker, ladder.pipelines.task; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pandas', "
        "'sklearn', 'fsspec'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

"""The build's one compiled part; everything else is declared in pyproject.toml.

``ladder.data._listing`` lists a dataset folder in C (see ``ladder.data.snapshot``). It is
optional: where no C compiler is found, the install goes on and folders are listed in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ladder.data._listing",
            sources=["src/ladder/data/_listing.c"],
            optional=True,
        )
    ]
)

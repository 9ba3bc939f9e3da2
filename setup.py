"""The one thing pyproject.toml cannot say: directories of the source tree outside the package ship inside
it — templates/ as mlstack/templates, the quickstart's data and scripts (specs/quickstart/, which
`mlstack init` copies) as mlstack/quickstart. mlstack.paths finds them there in a wheel, and at their
source-tree places in a checkout."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["mlstack", "mlstack.*"], exclude=["*.__pycache__"]),
        "mlstack.templates",
        "mlstack.quickstart",
    ],
    package_dir={"mlstack.templates": "templates", "mlstack.quickstart": "specs/quickstart"},
)

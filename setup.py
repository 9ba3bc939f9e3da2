"""The one thing pyproject.toml cannot say: the top-level templates/ directory ships inside the package
as mlstack/templates (mlstack.paths finds it there in a wheel, and beside the package in a checkout)."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["mlstack", "mlstack.*"], exclude=["*.__pycache__"]),
        "mlstack.templates",
    ],
    package_dir={"mlstack.templates": "templates"},
)

"""The Pulumi program behind `pulumi up` in this repository (Pulumi.yaml's `main`): the same two lines
a platform repository made by `mlstack init` has."""

from mlstack.program import run

run()

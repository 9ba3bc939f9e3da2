"""The Pulumi program of this platform: everything it deploys is in the spec the stack names."""

from mlstack.program import run

run()

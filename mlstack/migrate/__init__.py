"""Moving a platform: `migrate` rewrites a spec for another target, `import` writes a spec from an
existing SageMaker platform; both hand a reviewer a report of every change (see report.py)."""

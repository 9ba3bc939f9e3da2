"""Pipelines: runs of steps as local subprocesses, with gates, registration and deployment."""

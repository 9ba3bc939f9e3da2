"""The local emulator: a small ML cloud on 127.0.0.1.

A control-plane service (FastAPI on uvicorn, one background process per state directory) takes the
desired state of a spec, plans it against what it holds, and reconciles: a model registry, a feature
store (offline over Parquet/CSV through DuckDB, online in SQLite), pipelines whose steps run as local
subprocesses, and endpoints served over HTTP. All state lives in one directory (`layout.StateDir`).

Modules import only the standard library at top level where the CLI needs them (`layout`, `client`,
`process`), so `mlstack status` stays fast; the server imports the numeric stack.
"""

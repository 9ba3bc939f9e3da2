"""Statistics shared by monitors and reports: drift, data quality and model quality.

`registry` is pure data (no numpy) for spec validation; `drift`, `quality` and `model_quality`
compute; `binning` documents and applies the binning rule.
"""

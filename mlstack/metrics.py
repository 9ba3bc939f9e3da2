"""The monitor metric names the spec accepts, by kind. Plain data with no imports, so the spec models
and the target profiles (which the spec's rules import) can both use it without an import cycle."""

DRIFT_METRICS = ("psi", "ks", "jensen_shannon", "wasserstein", "chi2", "l_infinity")
DATA_QUALITY_METRICS = ("null_rate", "type_error_rate", "out_of_range_rate")
MODEL_QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "mae", "rmse")

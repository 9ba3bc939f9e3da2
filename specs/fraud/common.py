"""What the fraud-detection steps share: the model's features and how to compute them from raw
transactions when the training set does not already carry them.

Locally the pipeline's training set is the point-in-time join of `transactions.csv` with the feature
views (the emulator builds it); on a cloud the steps receive the raw transactions and compute the same
aggregates themselves, so one set of step files runs on every target."""

import pandas as pd

FEATURES = ["amount", "txn_count_24h", "txn_amount_mean_7d", "distinct_merchants_7d", "chargeback_rate_30d"]
LABEL = "is_fraud"
TIME = "event_timestamp"
RAW = ["customer_id", "merchant_id", TIME, "amount", LABEL]


def _rolling(rows: pd.DataFrame, key: str, column: str, window: str, how) -> pd.Series:
    """Per `key`, `how` over `column` of the rows in the `window` before each row (that row excluded)."""
    out = pd.Series(0.0, index=rows.index)
    for _, group in rows.groupby(key):
        series = group.set_index(TIME)[column]
        out.loc[group.index] = series.rolling(window, closed="left").apply(how, raw=True).to_numpy()
    return out.fillna(0.0)


def derive_features(rows: pd.DataFrame) -> pd.DataFrame:
    """The view features, computed from earlier transactions only (no look-ahead)."""
    rows = rows.assign(**{TIME: pd.to_datetime(rows[TIME])}).sort_values(TIME).reset_index(drop=True)
    rows["merchant_code"] = rows["merchant_id"].astype("category").cat.codes.astype(float)
    rows["txn_count_24h"] = _rolling(rows, "customer_id", "amount", "24h", len)
    rows["txn_amount_mean_7d"] = _rolling(rows, "customer_id", "amount", "7D", lambda w: w.mean() if len(w) else 0.0)
    rows["distinct_merchants_7d"] = _rolling(rows, "customer_id", "merchant_code", "7D", lambda w: len(set(w)))
    rows["chargeback_rate_30d"] = _rolling(rows, "merchant_id", LABEL, "30D", lambda w: w.mean() if len(w) else 0.0)
    return rows.drop(columns="merchant_code")


def with_features(rows: pd.DataFrame) -> pd.DataFrame:
    missing = [f for f in FEATURES if f not in rows.columns]
    return derive_features(rows[RAW].copy()) if missing else rows

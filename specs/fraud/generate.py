"""Synthetic data for specs/fraud-detection.yaml, so the whole platform runs on the local emulator.

    python3 specs/fraud/generate.py [--out DIR]     (DIR defaults to specs/, where the spec is)

Writes, relative to DIR (the paths the spec names):
  fraud/transactions.csv                the pipeline's entity rows: customer, merchant, time, amount, label
  customer_txn_stats/data.csv           feature view source: daily per-customer aggregates (event_ts)
  merchant_risk/data.csv                feature view source: daily per-merchant chargeback rate, category
  models/fraud-model/{3,4}/model.joblib the declared champion and challenger (gradient-boosted trees)
  models/fraud-rules-model/1/model.joblib  the logistic model of the A/B test
  baselines/training.csv                the training features (drift and quality baselines)
  baselines/predictions.csv             the champion's predictions on them (prediction-drift baseline)

Fraud is rarer for long-standing customers and common where a customer suddenly spends far above
their weekly mean at many merchants, at merchants with chargebacks: learnable, with some noise.
Locally a scikit-learn gradient-boosted model stands in for the XGBoost one the clouds serve: the
emulator serves models saved with joblib, and the steps' `predict`/`predict_proba` calls are the same.
Deterministic: the same seed writes the same files."""

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FEATURES, LABEL, TIME, derive_features

START = pd.Timestamp("2026-10-01")
DAYS = 30


def transactions(rng: np.random.Generator, customers: int = 100, merchants: int = 40, rows: int = 4000) -> pd.DataFrame:
    risky = rng.random(merchants) < 0.2
    customer = rng.integers(1, customers + 1, rows)
    merchant = rng.integers(0, merchants, rows)
    when = START + pd.to_timedelta(np.sort(rng.random(rows)) * DAYS * 86400, unit="s")
    base = rng.gamma(2.0, 30.0, customers + 1)[customer]
    spree = rng.random(rows) < 0.08
    amount = np.where(spree, base * rng.uniform(6, 12, rows), base * rng.uniform(0.5, 1.5, rows))
    p = 0.002 + 0.95 * spree + 0.01 * risky[merchant]
    fraud = (rng.random(rows) < np.clip(p, 0, 0.97)).astype(int)
    return pd.DataFrame({"customer_id": customer, "merchant_id": [f"m{m:03d}" for m in merchant],
                         TIME: when.round("s"), "amount": amount.round(2), LABEL: fraud})  # fmt: skip


def daily(frame: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """The latest value per key and day, stamped at the end of the day: what a nightly job would write."""
    day = frame[TIME].dt.floor("D") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    out = frame.assign(event_ts=day).sort_values(TIME).groupby([key, "event_ts"], as_index=False)[columns].last()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--seed", type=int, default=7)
    out = parser.parse_args().out
    rng = np.random.default_rng(parser.parse_args().seed)
    raw = transactions(rng)
    rows = derive_features(raw)
    for folder in ("fraud", "customer_txn_stats", "merchant_risk", "baselines"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    raw.to_csv(out / "fraud" / "transactions.csv", index=False)
    customer = daily(rows, "customer_id", ["txn_count_24h", "txn_amount_mean_7d", "distinct_merchants_7d"])
    customer["txn_count_24h"] = customer["txn_count_24h"].astype(int)
    customer["distinct_merchants_7d"] = customer["distinct_merchants_7d"].astype(int)
    customer.to_csv(out / "customer_txn_stats" / "data.csv", index=False)
    merchant = daily(rows, "merchant_id", ["chargeback_rate_30d"])
    merchant["merchant_category"] = np.where(merchant["merchant_id"].str[-1].isin(list("0123")), "online", "retail")
    merchant.to_csv(out / "merchant_risk" / "data.csv", index=False)

    train = rows[rows[TIME] < START + pd.Timedelta(days=DAYS * 0.75)]
    x, y = train[FEATURES], train[LABEL]
    models = {
        ("fraud-model", 3): HistGradientBoostingClassifier(learning_rate=0.05, max_depth=4, random_state=3),
        ("fraud-model", 4): HistGradientBoostingClassifier(learning_rate=0.05, max_depth=6, random_state=4),
        ("fraud-rules-model", 1): LogisticRegression(max_iter=1000),
    }
    for (group, version), model in models.items():
        folder = out / "models" / group / str(version)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(model.fit(x, y), folder / "model.joblib")
    x.round(6).to_csv(out / "baselines" / "training.csv", index=False)
    champion = models[("fraud-model", 3)]
    pd.DataFrame({"prediction": champion.predict(x)}).to_csv(out / "baselines" / "predictions.csv", index=False)
    print(f"wrote {len(raw)} transactions, {len(customer)} customer and {len(merchant)} merchant feature rows to {out}")


if __name__ == "__main__":
    main()

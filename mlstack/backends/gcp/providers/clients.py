"""The SDK boundary of the dynamic providers: google-cloud-aiplatform's GAPIC service clients, made on
the regional API host, and the few helpers every provider shares. Imported only when a provider runs
(never by `mlstack plan` or `mlstack validate`), and tests replace the clients here, at the SDK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

# Long-running operations (upload, deploy, undeploy) wait this long before the provider gives up and
# Pulumi reports the failure; a rerun resumes (every create looks for what an earlier attempt made).
OPERATION_TIMEOUT = 3600.0


def aiplatform(service: str, region: str) -> Any:
    """e.g. aiplatform("EndpointServiceClient", "us-central1")."""
    from google.cloud import aiplatform_v1

    return getattr(aiplatform_v1, service)(client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"})


def types() -> Any:
    from google.cloud import aiplatform_v1

    return aiplatform_v1


def wait(operation: Any) -> Any:
    return operation.result(timeout=OPERATION_TIMEOUT)


def ignore_missing(call: Callable[[], Any]) -> Any | None:
    """Run a call, treating NotFound as done: deleting something already gone succeeds."""
    from google.api_core.exceptions import NotFound

    try:
        return call()
    except NotFound:
        return None


def pause(seconds: float) -> None:
    """Sleep between rollout stages (tests replace it)."""
    if seconds > 0:
        time.sleep(seconds)


def changed(olds: dict[str, Any], news: dict[str, Any], keys: Iterable[str]) -> list[str]:
    return [key for key in keys if olds.get(key) != news.get(key)]

"""mlstack's own decisions where they run on a cloud: one structured audit record per decision.

The clouds already audit every API call mlstack's jobs make (CloudTrail, Cloud Audit Logs, Azure Activity
Log), under the job's identity. What they cannot know is why: a quality gate that failed, a deployment
held for approval, a monitor that rolled an endpoint back. So each of mlstack's runtime jobs (deploy,
monitor, quality gates, registration) ends by printing one JSON line with a fixed schema to its standard
output, which the platform ships to its log service with no setup: SageMaker processing jobs to
CloudWatch Logs (/aws/sagemaker/ProcessingJobs), Vertex AI pipeline tasks to Cloud Logging (a JSON line
becomes the entry's jsonPayload). Find them by their marker field:

    CloudWatch Logs Insights:  fields @timestamp, who, action, what, outcome, why | filter mlstack_audit = "v1"
    Cloud Logging:             jsonPayload.mlstack_audit="v1"

The local emulator keeps the same facts in its append-only audit table (`mlstack audit`).
Standard library only."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

VERSION = "v1"
FIELDS = ("mlstack_audit", "at", "who", "action", "what", "outcome", "why")
ACTOR_ENV = "MLSTACK_ACTOR"
DEFAULT_ACTOR = "mlstack-runtime"  # the job's own cloud identity is in the cloud's audit log beside this
MAX_WHY = 4000  # a person's line, not a log dump


def record(action: str, what: str, outcome: str, why: str) -> str:
    """Print one audit record as a JSON line on stdout and return it."""
    entry = dict(
        zip(
            FIELDS,
            (
                VERSION,
                datetime.now(UTC).isoformat(timespec="milliseconds"),
                os.environ.get(ACTOR_ENV) or DEFAULT_ACTOR,
                action,
                what,
                outcome,
                why[:MAX_WHY],
            ),
            strict=True,
        )
    )
    line = json.dumps(entry)
    print(line, file=sys.stdout, flush=True)
    return line

"""Writing data capture files in SageMaker's format, for tests that need many records."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

CSV_OUT = "text/csv; charset=utf-8"


def capture_line(index: int, when: datetime, request: str | None, response: str | None, kind: str = "csv") -> str:
    """One captured request as SageMaker writes it; `kind` is csv or json for both sides."""
    content = {"csv": ("text/csv", CSV_OUT, "CSV"), "json": ("application/json", "application/json", "JSON")}[kind]
    sides = (("endpointInput", "INPUT", content[0], request), ("endpointOutput", "OUTPUT", content[1], response))
    data = {
        side: {"observedContentType": observed, "mode": mode, "data": text, "encoding": content[2]}
        for side, mode, observed, text in sides
        if text is not None
    }
    metadata = {
        "eventId": f"00000000-0000-4000-8000-{index:012d}",
        "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})


def capture_files(records: list[tuple[datetime, str | None, str | None]], kind: str = "csv") -> dict[str, str]:
    """Relative path (<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl) -> content, one file per hour."""
    hours: dict[str, list[str]] = defaultdict(list)
    for index, (when, request, response) in enumerate(records):
        hours[when.strftime("ranker/primary/%Y/%m/%d/%H")].append(capture_line(index, when, request, response, kind))
    return {f"{folder}/capture-{n}.jsonl": "\n".join(lines) + "\n" for n, (folder, lines) in enumerate(hours.items())}


def write_captures(root: Path, records: list[tuple[datetime, str | None, str | None]], kind: str = "csv") -> Path:
    for relative, text in capture_files(records, kind).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root

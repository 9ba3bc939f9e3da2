"""Test step that records what the step contract handed it: argv and the MLSTACK_* environment."""

import json
import os
import sys
from pathlib import Path

seen = {
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("MLSTACK_")},
    "cwd": os.getcwd(),
}
(Path(os.environ["MLSTACK_OUTPUT_DIR"]) / "seen.json").write_text(json.dumps(seen))

"""`python3 -m mlstack.monitor_job --monitor NAME`: one run of a monitor on SageMaker (mlstack.jobs.monitor)."""

import sys

from mlstack.jobs.monitor import main

if __name__ == "__main__":
    sys.exit(main())

"""`python3 -m mlstack.deploy_job --endpoint NAME --model-package ARN`: a pipeline's deployment step
(mlstack.jobs.deploy)."""

import sys

from mlstack.jobs.deploy import main

if __name__ == "__main__":
    sys.exit(main())

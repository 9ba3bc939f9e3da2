"""What mlstack's runtime image runs inside SageMaker jobs, outside any Pulumi program.

- `monitor`: the bring-your-own-container Model Monitor job (`python3 -m mlstack.monitor_job`) for the
  metrics SageMaker's analyzer lacks; it reads the endpoint's data capture, computes with mlstack.stats
  and publishes the CloudWatch metric the monitor's alarm watches.
- `deploy`: a pipeline's deployment step (`python3 -m mlstack.deploy_job`), rolling an endpoint to a
  registered model package through a new endpoint configuration and the endpoint's own deployment config.

The AWS backend (mlstack/backends/aws/monitors.py, pipeline_definition.py) writes the command lines and
environments these read; `failures.run` turns every failure into one line on stderr and an exit code.
"""

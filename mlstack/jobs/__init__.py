"""What mlstack's runtime image runs inside SageMaker jobs, outside any Pulumi program.

- `monitor`: a monitor's scheduled run (`python3 -m mlstack.monitor_job`, the Processing step of the
  monitor's pipeline); it reads the endpoint's data capture, the baseline or the labels, computes with
  the shared evaluator and publishes the CloudWatch metric the monitor's alarm watches.
- `deploy`: a pipeline's deployment step (`python3 -m mlstack.deploy_job`), rolling an endpoint to a
  registered model package through a new endpoint configuration and the endpoint's own deployment config.

The AWS backend (mlstack/backends/aws/monitors.py, pipeline_definition.py) writes the command lines and
environments these read; `failures.run` turns every failure into one line on stderr and an exit code.
"""

"""Ray Serve: protection, editability (ERMA) and recovery as autoscaled deployments behind one FastAPI ingress
that also runs the privacy gateway (`POST /v1/edit`). Build the application with `serve.app.build_app`;
`sppe serve` deploys the embedded default, `serve run cluster/serve.yaml` the configured one."""

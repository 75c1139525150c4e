"""What SageMaker hosting says, and how long it takes, in the simulated account: the
words of its refusals and failure reasons, and the durations of its transitions."""

CAPACITY = (
    "Unable to provision requested ML compute capacity for {instance}. Please retry using "
    "a different ML instance type or after some time."
)
# The `ic-hang` fault: real seconds a component stays Creating before SageMaker gives up on
# its startup health check (ContainerStartupHealthCheckTimeoutInSeconds, API_Inference
# ComponentStartupParameters) and fails it.
HANG_SECONDS = 8.0
HUNG = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check within the startup health check timeout."
)
# Real seconds, whatever the clock's speed: longer than the `sleep 15` the generated
# do/clean takes when the CLI has no waiter for it (a fraction of a second at the image's
# pace, see buildimage.py), so that its DeleteEndpoint comes too early, as on SageMaker
SLOW_DELETE_SECONDS = 5.0
UNHEALTHY = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)
# How long each transition takes, in twin seconds: typical values seen on SageMaker, not
# documented figures (the docs say an endpoint "can take a few minutes" to become available,
# https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-create-endpoint.html;
# the CLI's endpoint waiters poll every 30 s for up to an hour).
ENDPOINT_CREATION = 360.0
ENDPOINT_DELETION = 60.0
COMPONENT_CREATION = 180.0
COMPONENT_UPDATE = 120.0
COMPONENT_DELETION = 60.0
# https://docs.aws.amazon.com/general/latest/gr/sagemaker.html (per-instance-type quotas
# "<type> for endpoint usage"), in the words SageMaker answers CreateEndpoint with
QUOTA = (
    "The account-level service limit '{type} for endpoint usage' is {limit} Instances, with "
    "current utilization of {used} Instances and a request delta of {delta} Instances. "
    "Please use AWS Service Quotas to request an increase for this quota. If AWS Service "
    "Quotas is not available, contact AWS support to request an increase for this quota."
)
# Reported, not documented: a component or endpoint still Creating cannot be deleted
# (https://github.com/aws/amazon-sagemaker-examples/issues/3432); the words follow
# SageMaker's "Cannot update in-progress endpoint" refusal.
IN_PROGRESS = 'Cannot delete in-progress {label} "{arn}".'

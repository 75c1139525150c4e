"""An optional ECR pull-through cache of Docker Hub (the DockerHubAccess parameter).

Builds in CodeBuild pull base images anonymously from shared addresses, which Docker Hub
rate-limits. With a secret given, ECR caches Docker Hub under `<prefix>-docker-hub/` (a
cache rule's prefix is the region's: another stack's or team's may hold `docker-hub`), pulling with
that account; the executor hands runs the cache's address (MLCC_CI_DOCKER_HUB_MIRROR) and
they name their base images there (mlcc_ci/mirror.py).
"""

from aws_cdk import Aws, CfnCondition, Fn
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

SUFFIX = "docker-hub"  # the cache's repository prefix is `<stack prefix>-docker-hub`


def cache_prefix(prefix: str) -> str:
    return f"{prefix}-{SUFFIX}"


PULL_ACTIONS = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    # the first pull of an image through the cache creates its repository and imports it
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
]


class DockerHubCache(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, secret_arn: str, prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        given = CfnCondition(
            self, "Given", expression=Fn.condition_not(Fn.condition_equals(secret_arn, ""))
        )
        rule = ecr.CfnPullThroughCacheRule(
            self,
            "Rule",
            ecr_repository_prefix=cache_prefix(prefix),
            upstream_registry="docker-hub",
            upstream_registry_url="registry-1.docker.io",
            credential_arn=secret_arn,
        )
        rule.cfn_options.condition = given
        registry = f"{Aws.ACCOUNT_ID}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{cache_prefix(prefix)}"
        self.uri = Fn.condition_if(given.logical_id, registry, "").to_string()

    @staticmethod
    def pull_statement(prefix: str) -> iam.PolicyStatement:
        """What pulling a base image through the cache takes (nothing without the rule)."""
        repository = f"repository/{cache_prefix(prefix)}/*"
        return iam.PolicyStatement(
            sid="PullThroughDockerHubCache",
            actions=PULL_ACTIONS,
            resources=[f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{Aws.ACCOUNT_ID}:{repository}"],
        )

"""The SageMaker execution role the deployed endpoints run as: created by the stack, unless
the `SageMakerRoleArn` parameter names one that already exists (then none is created).

The created role has no fixed name: the generator's own `bootstrap` creates
`mlcc-sagemaker-execution-role`, and a stack that took that name would fail to deploy in
every account where the generator was bootstrapped."""

from aws_cdk import Aws, CfnCondition, CfnParameter, Fn
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlcc_ci_stack.names import Names
from mlcc_ci_stack.trust import service


class SageMakerRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names) -> None:
        super().__init__(scope, construct_id)
        given = CfnParameter(
            scope,
            "SageMakerRoleArn",
            type="String",
            default="",
            allowed_pattern=r"^$|^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$",
            constraint_description="empty, or the ARN of an IAM role",
            description="An existing SageMaker execution role for the endpoints; empty: the "
            "stack creates one.",
        )
        use_given = CfnCondition(
            self, "UseGiven", expression=Fn.condition_not(Fn.condition_equals(given, ""))
        )
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        create = CfnCondition(self, "Create", expression=Fn.condition_equals(given, ""))
        self.created = iam.Role(
            self,
            "Role",
            assumed_by=service("sagemaker"),
            description="mlcc-ci: what a CI endpoint may do (pull its image, write its logs)",
        )
        for statement in (
            iam.PolicyStatement(
                sid="PullImage",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[
                    f"arn:{partition}:ecr:{region}:{account}:repository/{repo}"
                    # the generated do-scripts push to the generator profile's repository
                    # (ml-container-creator unless it names another) or to ours
                    for repo in ("ml-container-creator", names("*"))
                ],
            ),
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*"],
            ),
            iam.PolicyStatement(
                sid="Metrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
            ),
        ):
            self.created.add_to_policy(statement)
        for construct in (self.created, self.created.node.find_child("DefaultPolicy")):
            construct.node.default_child.cfn_options.condition = create  # type: ignore[union-attr]
        self.arn = Fn.condition_if(
            use_given.logical_id, given.value_as_string, self.created.role_arn
        ).to_string()

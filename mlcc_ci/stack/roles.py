"""The SageMaker execution role the deployed endpoints run as: created by the stack, unless
the `SageMakerRoleArn` parameter names one that already exists (then none is created).

The created role is `<prefix>-endpoints-<region code>`: under the prefix (the permissions
boundary lets the stack pass only its own roles), with the region (IAM names are the
account's), never the generator's own `bootstrap` role `mlcc-sagemaker-execution-role`."""

from aws_cdk import Aws, CfnCondition, CfnParameter, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlcc_ci.aws.rolecheck import needs
from mlcc_ci.naming import region_code
from mlcc_ci.stack.names import Names
from mlcc_ci.stack.trust import service


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
            "stack creates one. Check it first (mlcc-ci stack check-role ARN): the executor "
            "refuses to deploy with a role that may do more than the endpoints need.",
        )
        use_given = CfnCondition(
            self, "UseGiven", expression=Fn.condition_not(Fn.condition_equals(given, ""))
        )
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        create = CfnCondition(self, "Create", expression=Fn.condition_equals(given, ""))
        self.created = iam.Role(
            self,
            "Role",
            role_name=names(f"endpoints-{region_code(Stack.of(self).region)}"),
            assumed_by=service("sagemaker"),
            description="mlcc-ci: what a CI endpoint may do (pull its image, write its logs)",
        )
        # what the endpoints need, in the one place `mlcc-ci stack check-role` judges a given
        # role by (mlcc_ci/aws/rolecheck.py)
        for need in needs(partition, region, account, names.prefix):
            statement = iam.PolicyStatement(
                sid=need.sid,
                actions=list(need.actions),
                resources=list(need.resources),
                conditions=need.condition or None,
            )
            self.created.add_to_policy(statement)
        for construct in (self.created, self.created.node.find_child("DefaultPolicy")):
            construct.node.default_child.cfn_options.condition = create  # type: ignore[union-attr]
        self.arn = Fn.condition_if(
            use_given.logical_id, given.value_as_string, self.created.role_arn
        ).to_string()
        # "1" when the role is one SageMakerRoleArn named: the executor then judges it before
        # it deploys with it (mlcc_ci/preflight.py, as `mlcc-ci stack check-role`)
        self.given = Fn.condition_if(use_given.logical_id, "1", "0").to_string()
        # the given role, for the boundary to let it be passed (nothing when none is given)
        self.given_arn = Fn.condition_if(
            use_given.logical_id, given.value_as_string, Aws.NO_VALUE
        ).to_string()

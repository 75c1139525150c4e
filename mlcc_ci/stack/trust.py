"""Whom the stack's roles trust: one AWS service, for this account only.

aws:SourceAccount in a service role's trust policy keeps another account's resource of the
same service from having the service assume the role (the confused deputy): IAM User Guide,
"The confused deputy problem",
https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html; each service's own
"Cross-service confused deputy prevention" page (CodeBuild, SageMaker, Step Functions) and
Lambda's "Working with AWS managed policies in the execution role",
https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html, show the key
in a role's trust policy.
"""

from aws_cdk import Aws, CfnResource
from aws_cdk import aws_iam as iam


def service(name: str) -> iam.ServicePrincipal:
    """`name`.amazonaws.com, only on this account's behalf."""
    return iam.ServicePrincipal(
        f"{name}.amazonaws.com",
        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
    )


def trust_this_account_only(role: CfnResource) -> None:
    """The same condition on a role CDK writes as a raw resource (a custom resource
    provider's, trusted by Lambda in a single statement)."""
    role.add_property_override(
        "AssumeRolePolicyDocument.Statement.0.Condition",
        {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
    )

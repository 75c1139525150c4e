"""`mlcc-ci stack check-role ARN`: what the AWS stack is given, checked before it is
deployed."""

import click

from mlcc_ci.constants import RESOURCE_PREFIX


@click.group()
def stack() -> None:
    """Check what the AWS stack is given before deploying it."""


@stack.command("check-role")
@click.argument("arn")
@click.option(
    "--region",
    metavar="REGION",
    help="Where to reach IAM (default: the AWS environment's region); AWS_ENDPOINT_URL is "
    "honoured.",
)
@click.option(
    "--prefix",
    default=RESOURCE_PREFIX,
    show_default=True,
    metavar="PREFIX",
    help="The stack's name prefix: its image repositories are PREFIX-*.",
)
def check_role(arn: str, region: str | None, prefix: str) -> None:
    """Is the IAM role ARN fit to be the SageMaker execution role of the CI endpoints (the
    stack's SageMakerRoleArn)? It must trust only sagemaker.amazonaws.com and allow no more
    than the loop needs: pull from the stack's repositories, log in to ECR, write endpoint
    logs under /aws/sagemaker/*/PREFIX-* and endpoint metrics. Exit 0: fit; 1: what it allows beyond
    that, one line each; 2: a malformed ARN, no such role, or the role cannot be read."""
    import os

    from mlcc_ci.aws import rolecheck
    from mlcc_ci.errors import EXIT_FAILED

    parsed = rolecheck.parse_arn(arn)
    rolecheck.check_prefix(prefix)
    role = rolecheck.read_role(rolecheck.client(region, os.environ), parsed)
    findings = rolecheck.judge(role, parsed, prefix)
    if not findings:
        click.echo(
            f"{role.arn} is fit to be the SageMaker execution role: it trusts only "
            f"{rolecheck.SERVICE} and allows no more than the loop needs"
        )
        return
    click.echo(
        f"{role.arn} is not fit to be the SageMaker execution role "
        f"({len(findings)} finding{'s' if len(findings) > 1 else ''}):"
    )
    for finding in findings:
        click.echo(f"  {finding}")
    raise SystemExit(EXIT_FAILED)


COMMANDS = [stack]

"""`mlcc-ci stack synth|deploy|check-role`: the AWS stack for this repository's catalog,
and what it is given, checked before it is deployed."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mlcc_ci.constants import RESOURCE_PREFIX


@click.group()
def stack() -> None:
    """Synthesize and deploy the AWS stack for the catalog in use; check what it is given."""


def _stack_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--out",
                type=click.Path(file_okay=False, path_type=Path),
                metavar="DIR",
                help="Where the cloud assembly goes (replaced): default .mlcc-ci/cdk.out "
                "beside the settings file, else cdk.out here.",
            ),
            click.option(
                "--region",
                envvar=["CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
                metavar="REGION",
                help="The region the stack goes to (its account-wide role names carry it); "
                "default: CDK_DEFAULT_REGION, AWS_REGION or AWS_DEFAULT_REGION.",
            ),
            click.option(
                "--prefix",
                metavar="PREFIX",
                help=f"Name everything under PREFIX (at most 12 characters, not beginning "
                f"mlcc): beside another mlcc-ci stack or the generator's. Default: "
                f"{RESOURCE_PREFIX}.",
            ),
            click.option(
                "--table",
                metavar="NAME",
                help="Share this results table (e.g. a generated project's mlcc-ci-table) "
                "instead of the stack's own.",
            ),
        ]
    ):
        command = option(command)
    return command


def _synth(out: Path | None, region: str | None, prefix: str | None, table: str | None) -> Any:
    from mlcc_ci import settings, stackbuild

    if not region:
        raise click.UsageError(
            "no region: give --region REGION or set CDK_DEFAULT_REGION (the role names IAM "
            "keeps account-wide carry it)"
        )
    context = {k: v for k, v in (("prefix", prefix), ("table", table)) if v}
    if out is None:
        out = settings.state_dir() / "cdk.out" if settings.find() else Path("cdk.out")
    done = stackbuild.synth(
        out.absolute(),
        region=region,
        context=context,
        starting=lambda: click.echo(
            f"synthesizing for {region} (this takes a minute)...", err=True
        ),
    )
    click.echo(
        f"{done.stack}: {done.entries} configuration{'s' if done.entries != 1 else ''} from "
        f"{done.catalog}, template {done.template}"
    )
    return done


@stack.command("synth")
@_stack_options
def synth(out: Path | None, region: str | None, prefix: str | None, table: str | None) -> None:
    """Synthesize the stack for the catalog in use (the settings file's, --catalog's, or the
    shipped one): the executor runs that catalog, the scanner registers its entries, the
    recorder classifies by its failure rules. Needs `pip install 'mlcc-ci[stack]'` and
    Node.js; the Lambda's dependencies are downloaded once (MLCC_CI_LAMBDA_WHEELS names a
    folder of them instead)."""
    _synth(out, region, prefix, table)
    click.echo(f"deploy it with: mlcc-ci stack deploy --region {region}", err=True)


@stack.command("deploy", context_settings={"ignore_unknown_options": True})
@_stack_options
@click.argument("cdk_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- CDK_ARGS]...")
def deploy(
    out: Path | None,
    region: str | None,
    prefix: str | None,
    table: str | None,
    cdk_args: tuple[str, ...],
) -> None:
    """Synthesize the stack, then `cdk deploy` it with the AWS environment's credentials
    (the CDK CLI at the version mlcc-ci pins, installed with npm on first use; MLCC_CI_CDK
    names another). Arguments after -- go to cdk deploy, e.g.
    `-- --parameters SageMakerRoleArn=arn:aws:iam::...`. The account needs `cdk bootstrap`
    once."""
    from mlcc_ci import stackbuild

    done = _synth(out, region, prefix, table)
    command = stackbuild.deploy_command(done, cdk_args)
    click.echo(f"running: {' '.join(command)}", err=True)
    code = stackbuild.run_cdk(command)
    if code:
        raise SystemExit(code)


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

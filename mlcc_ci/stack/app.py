"""The CDK app: build `<prefix>-harness` for the catalog in use (the shipped one, or the
team's that the settings file or --catalog names).

`mlcc-ci stack synth|deploy` call `build_app` in the CLI's own process; a checkout's
`cdk/app.py` (`make synth`, `cdk deploy` in cdk/) runs `main`.
"""

import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from mlcc_ci.stack.names import Names
from mlcc_ci.stack.stack import MlccCiHarnessStack

CONTEXT_KEYS = ("prefix", "table")


def build_app(
    outdir: str | None = None,
    *,
    nag: bool = True,
    context: dict[str, str] | None = None,
    region: str | None = None,
) -> cdk.App:
    """`context`: what `cdk -c key=value` gives (`prefix`, `table`: see names.py)."""
    app = cdk.App(outdir=outdir, context=context)
    names = Names.from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})
    # The region is part of the names IAM keeps account-wide: the app needs it (the CDK CLI
    # gives the profile's as CDK_DEFAULT_REGION; `-c region=...` names another).
    region = region or app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION")
    if not region:
        raise ValueError(
            "no region: run with a profile that has one, or add -c region=REGION (the "
            "nested builds' role names, which IAM keeps account-wide, carry it)"
        )
    MlccCiHarnessStack(
        app,
        names.stack,
        names=names,
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region),
    )
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> None:
    try:
        build_app().synth()
    except ValueError as exc:  # a context value the stack cannot take: one line, no trace
        sys.exit(f"mlcc-ci stack: {exc}")

"""The CDK app: `cdk synth` / `cdk deploy` build MlccCiHarnessStack from here."""

import os
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mlcc_ci_stack.names import Names
from mlcc_ci_stack.stack import MlccCiHarnessStack


def build_app(
    outdir: str | None = None,
    *,
    nag: bool = True,
    context: dict[str, str] | None = None,
    region: str | None = None,
) -> cdk.App:
    """`context`: what `cdk -c key=value` gives (`prefix`, `table`: see names.py)."""
    app = cdk.App(outdir=outdir, context=context)
    names = Names.from_context({key: app.node.try_get_context(key) for key in ("prefix", "table")})
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


if __name__ == "__main__":
    try:
        build_app().synth()
    except ValueError as exc:  # a context value the stack cannot take: one line, no trace
        sys.exit(f"mlcc-ci stack: {exc}")

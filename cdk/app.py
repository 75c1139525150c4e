"""The CDK app: `cdk synth` / `cdk deploy` build MlccCiHarnessStack from here."""

import os
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mlcc_ci_stack.stack import MlccCiHarnessStack

from mlcc_ci.constants import STACK_NAME


def build_app(outdir: str | None = None, *, nag: bool = True) -> cdk.App:
    app = cdk.App(outdir=outdir)
    MlccCiHarnessStack(
        app,
        STACK_NAME,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()

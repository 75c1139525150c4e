"""Lambda `<prefix>-recorder`: the orchestrator's failure path (mlcc_ci/aws/recorder.py).

It records a build that died or never started the way `mlcc-ci record-failure` does,
classified by the catalog's failure rules (packaged with the asset), so that a failure of
the infrastructure blocks the configuration instead of failing it.
"""

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlcc_ci.stack.functions import stack_function
from mlcc_ci.stack.names import Names
from mlcc_ci.stack.tables import Tables

HANDLER = "mlcc_ci.aws.recorder.handler"


class Recorder(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        log_group: logs.ILogGroup,
        names: Names,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = stack_function(
            self,
            name=names("recorder"),
            handler=HANDLER,
            description="mlcc-ci: records, classified, a run whose executor build died",
            role_description="mlcc-ci recorder: records a run whose executor build died",
            statements=[
                iam.PolicyStatement(
                    # read the claimed record; write the failure, or the block, conditionally
                    sid="RecordFailure",
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    resources=[tables.records.table_arn],
                ),
                iam.PolicyStatement(
                    sid="RecordRunInHistory",
                    actions=["dynamodb:PutItem"],
                    resources=[tables.runs.table_arn],
                ),
            ],
            log_group=log_group,
            timeout=Duration.minutes(1),
            environment={
                "TABLE_NAME": tables.records.table_name,
                "RUNS_TABLE_NAME": tables.runs.table_name,
            },
        )

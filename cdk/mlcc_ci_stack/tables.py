"""The results table (with its status index) and the run-history table."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from mlcc_ci.constants import (
    ATTR_CONFIG_ID,
    ATTR_EXPIRES_AT,
    ATTR_LAST_TEST,
    ATTR_STARTED_AT,
    ATTR_STATUS,
    RUNS_TABLE_NAME,
    STATUS_INDEX,
    TABLE_NAME,
)

_PITR = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
_S = dynamodb.AttributeType.STRING


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Results outlive the stack: `cdk destroy` keeps both tables (see README).
        self.records = dynamodb.Table(
            self,
            "Records",
            table_name=TABLE_NAME,
            partition_key=dynamodb.Attribute(name=ATTR_CONFIG_ID, type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.records.add_global_secondary_index(
            index_name=STATUS_INDEX,
            partition_key=dynamodb.Attribute(name=ATTR_STATUS, type=_S),
            sort_key=dynamodb.Attribute(name=ATTR_LAST_TEST, type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.runs = dynamodb.Table(
            self,
            "Runs",
            table_name=RUNS_TABLE_NAME,
            partition_key=dynamodb.Attribute(name=ATTR_CONFIG_ID, type=_S),
            sort_key=dynamodb.Attribute(name=ATTR_STARTED_AT, type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            time_to_live_attribute=ATTR_EXPIRES_AT,
            removal_policy=RemovalPolicy.RETAIN,
        )

    @property
    def status_index_arn(self) -> str:
        return f"{self.records.table_arn}/index/{STATUS_INDEX}"

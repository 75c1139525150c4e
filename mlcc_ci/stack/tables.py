"""The results table (with its status index, or the generator's, given), the run-history
table and the slots table."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from mlcc_ci.constants import (
    ATTR_CONFIG_ID,
    ATTR_EXPIRES_AT,
    ATTR_LAST_TEST,
    ATTR_STARTED_AT,
    ATTR_STATUS,
    STATUS_INDEX,
)
from mlcc_ci.stack.names import Names

_PITR = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
_S = dynamodb.AttributeType.STRING


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names) -> None:
        super().__init__(scope, construct_id)
        # Results outlive the stack: `cdk destroy` keeps both tables (see README). With the
        # `table` context value the records are an existing table's (the generator's own
        # stack's): used, never created, never deleted.
        self.records: dynamodb.ITable
        if names.existing_table:
            self.records = dynamodb.Table.from_table_attributes(
                self, "Records", table_name=names.existing_table, global_indexes=[STATUS_INDEX]
            )
        else:
            self.records = self._records(names)
        self.runs = dynamodb.Table(
            self,
            "Runs",
            table_name=names.runs_table,
            partition_key=dynamodb.Attribute(name=ATTR_CONFIG_ID, type=_S),
            sort_key=dynamodb.Attribute(name=ATTR_STARTED_AT, type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            time_to_live_attribute=ATTR_EXPIRES_AT,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Concurrency slots and the day's spend (mlcc_ci/aws/slots.py): conditional writes
        # that hold under duplicate events and overlapping scans. Nothing to keep.
        self.slots = dynamodb.Table(
            self,
            "Slots",
            table_name=names.slots_table,
            partition_key=dynamodb.Attribute(name="slot", type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            time_to_live_attribute=ATTR_EXPIRES_AT,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _records(self, names: Names) -> dynamodb.Table:
        records = dynamodb.Table(
            self,
            "Records",
            table_name=names.table,
            partition_key=dynamodb.Attribute(name=ATTR_CONFIG_ID, type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        records.add_global_secondary_index(
            index_name=STATUS_INDEX,
            partition_key=dynamodb.Attribute(name=ATTR_STATUS, type=_S),
            sort_key=dynamodb.Attribute(name=ATTR_LAST_TEST, type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return records

    @property
    def status_index_arn(self) -> str:
        return f"{self.records.table_arn}/index/{STATUS_INDEX}"

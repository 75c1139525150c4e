"""Publishing the confidence site (`mlcc-ci publish`) to an S3 bucket after each run: the
PublishBucket parameter names an existing bucket, PublishPrefix a key prefix in it; an
empty PublishBucket (the default) is off.

The executor's post_build (buildspec.py) writes the site from the store and syncs it to
s3://BUCKET/PREFIX with `aws s3 sync --delete`. Only with a bucket does CloudFormation
create the executor's policy for it (the condition below): listing the bucket under the
prefix, putting and deleting objects under it, and reading the results the site is made of
(a Scan of the records, a Query of a configuration's history). Without one, the role has no
statement about any bucket but the stack's own.
"""

from aws_cdk import Aws, CfnCondition, CfnParameter, Fn
from aws_cdk import aws_iam as iam
from aws_cdk.aws_iam import CfnPolicy
from constructs import Construct

from mlcc_ci.stack.tables import Tables

BUCKET_ENV = "MLCC_CI_PUBLISH_BUCKET"
PREFIX_ENV = "MLCC_CI_PUBLISH_PREFIX"
# a bucket's name as S3 allows it (3 to 63 of a-z 0-9 . -); a prefix of whole folders, each
# ending in "/", without IAM's wildcards (* ?) or its policy variables ($): "" is the root
BUCKET_PATTERN = r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
PREFIX_PATTERN = r"^$|^([A-Za-z0-9!_.'()-]+/)+$"


class SitePublishing(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, tables: Tables) -> None:
        super().__init__(scope, construct_id)
        bucket = CfnParameter(
            scope,
            "PublishBucket",
            type="String",
            default="",
            allowed_pattern=BUCKET_PATTERN,
            constraint_description="empty, or the name of an S3 bucket",
            description="An existing S3 bucket the executor publishes the confidence site "
            "to after each run (mlcc-ci publish, then aws s3 sync --delete under "
            "PublishPrefix); empty: nothing is published.",
        )
        prefix = CfnParameter(
            scope,
            "PublishPrefix",
            type="String",
            default="",
            allowed_pattern=PREFIX_PATTERN,
            constraint_description="empty, or folders each ending in / (e.g. site/mlcc-ci/)",
            description="The key prefix of the site in PublishBucket (empty: the bucket's "
            "root): the sync deletes any other object under it.",
        )
        self.on = CfnCondition(
            self, "On", expression=Fn.condition_not(Fn.condition_equals(bucket, ""))
        )
        self.bucket = bucket.value_as_string
        self.prefix = prefix.value_as_string
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{self.bucket}"
        self.policy = iam.Policy(
            self,
            "Policy",
            statements=[
                iam.PolicyStatement(
                    # the sync compares with what is there: a listing under the prefix only
                    sid="ListThePublishedSite",
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{self.prefix}*"]}},
                ),
                iam.PolicyStatement(
                    sid="WriteThePublishedSite",
                    actions=["s3:PutObject", "s3:DeleteObject"],
                    resources=[f"{bucket_arn}/{self.prefix}*"],
                ),
                iam.PolicyStatement(
                    # every configuration's record, and the history of those whose record
                    # carries too few runs for the window (mlcc_ci/assessing.py)
                    sid="ReadWhatThePublishedSiteShows",
                    actions=["dynamodb:Scan"],
                    resources=[tables.records.table_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadTheHistoryThePublishedSiteShows",
                    actions=["dynamodb:Query"],
                    resources=[tables.runs.table_arn],
                ),
            ],
        )
        cfn = self.policy.node.default_child
        assert isinstance(cfn, CfnPolicy)
        cfn.cfn_options.condition = self.on

    @property
    def environment(self) -> dict[str, str]:
        """What the executor's buildspec reads: the bucket ("" when off) and the prefix."""
        return {BUCKET_ENV: self.bucket, PREFIX_ENV: self.prefix}

    def grant(self, role: iam.IRole) -> None:
        """The role that publishes: the executor's (its policy exists only with a bucket)."""
        self.policy.attach_to_role(role)

"""Every name the stack gives, from one prefix.

The prefix is the CDK context value `prefix` (`cdk deploy -c prefix=team-ci`); its default,
`mlcc-ci`, gives the seed's names, which are also the names of the generator's own CI stack
(`infra/ci-harness`, deployed by `ml-container-creator bootstrap --ci`): beside that stack,
deploy with another prefix. Names IAM keeps account-wide (the nested builds' roles, the
budget) carry the region's code, so one prefix deploys in two regions of one account.

`table` (context) names an existing results table to use instead of creating one: the
generator's `mlcc-ci-table`, whose records both sides already read and write.
"""

import re
from dataclasses import dataclass

from mlcc_ci.constants import LOG_GROUP, RESOURCE_PREFIX
from mlcc_ci.naming import prefix_problem

_TABLE = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
# What a run makes in SageMaker, each named `<prefix>-...`: what the executor may manage and
# the permissions boundary keeps every change of the stack's roles to.
RUN_SAGEMAKER_KINDS = (
    "model",
    "endpoint-config",
    "endpoint",
    "inference-component",
    "transform-job",
    "ai-benchmark-job",
    "ai-workload-config",
)


@dataclass(frozen=True)
class Names:
    prefix: str = RESOURCE_PREFIX
    existing_table: str | None = None

    def __post_init__(self) -> None:
        problem = prefix_problem(self.prefix)
        if problem:
            raise ValueError(problem)
        if self.existing_table is not None and not _TABLE.match(self.existing_table):
            raise ValueError(f"table {self.existing_table!r} is not a DynamoDB table name")

    @classmethod
    def from_context(cls, context: "dict[str, object]") -> "Names":
        prefix = context.get("prefix") or RESOURCE_PREFIX
        table = context.get("table") or None
        return cls(str(prefix), str(table) if table else None)

    @property
    def default(self) -> bool:
        return self.prefix == RESOURCE_PREFIX

    def __call__(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    @property
    def stack(self) -> str:
        # never the seed's MlccCiHarnessStack: that is also the generator's own CI stack's
        # name, and deploying under it would update (and destroying, delete) theirs
        return self("harness")

    @property
    def table(self) -> str:
        return self.existing_table or self("table")

    @property
    def runs_table(self) -> str:
        return self("runs")

    @property
    def slots_table(self) -> str:
        return self("slots")

    @property
    def log_group(self) -> str:
        # the seed's name (which the generated do/ci also reads) for the default prefix
        return LOG_GROUP if self.default else self("logs")

    @property
    def orchestrator_logs(self) -> str:
        # vended logs: the account's CloudWatch Logs resource policy has room for them
        return f"/aws/vendedlogs/states/{self('orchestrator')}"

    @property
    def images(self) -> str:
        return self("images")

    @property
    def executor(self) -> str:
        return self("executor")

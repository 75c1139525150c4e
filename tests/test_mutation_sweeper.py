"""What one sweep (mlcc_ci/aws/sweeper.py) deletes, keeps, leaves alone, says and measures,
in-process against an in-memory account: SageMaker, CodeBuild, CloudWatch Logs, CloudWatch
and the slots table as the sweep calls them (each listing paged one item a page, NameContains
a substring match as AWS does), so every mutant of the module runs in milliseconds. Written
for make mutation (issue 32 item 2); tests/test_sweeper.py runs the same sweeps against the
simulated account."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlcc_ci.aws import sweeper
from mlcc_ci.aws.told import Told
from mlcc_ci.models import Record, Run
from mlcc_ci.ownership import Project
from mlcc_ci.selection import Policy

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=3)  # flask's finished run: T0 to T0 + 30 min
POLICY = Policy()  # orphan_after: 90 + 15 minutes


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Refused(Exception):
    pass


class Missing(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(f"Could not find {what}")
        self.response = {
            "Error": {"Code": "ValidationException", "Message": f"Could not find {what}"}
        }


def pages(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """One item a page, and an empty last page, as a paginator may give."""
    return [{key: [item]} for item in items] + [{key: []}]


class Paginator:
    def __init__(self, source, key: str, calls: list) -> None:
        self.source, self.key, self.calls = source, key, calls

    def paginate(self, **kwargs):
        self.calls.append((self.key, kwargs))
        return pages(self.source(**kwargs), self.key)


@dataclass
class SageMaker:
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, datetime] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    calls: list = field(default_factory=list)
    described: list[str] = field(default_factory=list)

    def get_paginator(self, method: str) -> Paginator:
        def contains(table, name_key, **kwargs):
            part = kwargs.get("NameContains", "")
            return [v | {name_key: k} for k, v in table.items() if part in k]

        if method == "list_endpoints":
            return Paginator(
                lambda **kw: [
                    {"EndpointName": e["EndpointName"], "CreationTime": e["CreationTime"]}
                    | {"EndpointStatus": e.get("EndpointStatus", "InService")}
                    for e in contains(self.endpoints, "EndpointName", **kw)
                ],
                "Endpoints",
                self.calls,
            )
        if method == "list_endpoint_configs":
            return Paginator(
                lambda **kw: [
                    {
                        "EndpointConfigName": c["EndpointConfigName"],
                        "CreationTime": c["CreationTime"],
                    }
                    for c in contains(self.configs, "EndpointConfigName", **kw)
                ],
                "EndpointConfigs",
                self.calls,
            )
        if method == "list_models":
            return Paginator(
                lambda **kw: [
                    {"ModelName": m, "CreationTime": t}
                    for m, t in self.models.items()
                    if kw.get("NameContains", "") in m
                ],
                "Models",
                self.calls,
            )
        assert method == "list_inference_components", method

        def components(**kw):
            return [
                {"InferenceComponentName": n, "CreationTime": c["CreationTime"]}
                for n, c in self.components.items()
                if kw.get("NameContains", "") in n
                and kw.get("EndpointNameEquals", c["EndpointName"]) == c["EndpointName"]
            ]

        return Paginator(components, "InferenceComponents", self.calls)

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        self.described.append(EndpointName)
        if EndpointName not in self.endpoints:
            raise Missing(f"endpoint {EndpointName}")
        found = self.endpoints[EndpointName]
        return {"EndpointName": EndpointName, "EndpointStatus": "InService"} | found

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        self.described.append(EndpointConfigName)
        if EndpointConfigName not in self.configs:
            raise Missing(f"endpoint configuration {EndpointConfigName}")
        found = self.configs[EndpointConfigName]
        variants = [
            {"VariantName": "AllTraffic"} | ({"ModelName": m} if m else {}) for m in found["models"]
        ]
        return {"EndpointConfigName": EndpointConfigName, "ProductionVariants": variants}

    def describe_inference_component(self, InferenceComponentName: str) -> dict[str, Any]:
        self.described.append(InferenceComponentName)
        if InferenceComponentName not in self.components:
            raise Missing(f"inference component {InferenceComponentName}")
        found = self.components[InferenceComponentName]
        spec = {"ModelName": found["model"]} if found.get("model") else {}
        return {"InferenceComponentStatus": "InService", "Specification": spec}

    def delete_inference_component(self, InferenceComponentName: str) -> None:
        self.components.pop(InferenceComponentName)

    def _refused(self, name: str) -> None:
        if name in self.refuse:
            raise Refused(f"{name} is in use")

    def delete_endpoint(self, EndpointName: str) -> None:
        self._refused(EndpointName)
        del self.endpoints[EndpointName]

    def delete_endpoint_config(self, EndpointConfigName: str) -> None:
        self._refused(EndpointConfigName)
        del self.configs[EndpointConfigName]

    def delete_model(self, ModelName: str) -> None:
        self._refused(ModelName)
        del self.models[ModelName]


class Meta:
    region_name = "us-east-1"


@dataclass
class CodeBuild:
    projects: dict[str, datetime] = field(default_factory=dict)
    builds: dict[str, list[str]] = field(default_factory=dict)  # project -> in-progress ids
    stopped: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    meta: Meta = field(default_factory=Meta)
    calls: list = field(default_factory=list)

    def get_paginator(self, method: str) -> Paginator:
        assert method == "list_projects"
        return Paginator(lambda **kw: list(self.projects), "projects", self.calls)

    def batch_get_projects(self, names: list[str]) -> dict[str, Any]:
        assert len(names) <= 100, "BatchGetProjects takes at most 100 names"
        self.batches.append(list(names))
        return {"projects": [{"name": n, "created": self.projects[n]} for n in names]}

    def list_builds_for_project(self, projectName: str, sortOrder: str) -> dict[str, Any]:
        return {"ids": list(self.builds.get(projectName, []))}

    def batch_get_builds(self, ids: list[str]) -> dict[str, Any]:
        return {"builds": [{"id": i, "buildStatus": "IN_PROGRESS"} for i in ids]}

    def stop_build(self, id: str) -> None:
        self.stopped.append(id)

    def delete_project(self, name: str) -> None:
        if name in self.refuse:
            raise Refused(f"{name} is in use")
        del self.projects[name]


@dataclass
class Logs:
    groups: dict[str, int | None] = field(default_factory=dict)  # name -> retention days
    broken: bool = False

    def get_paginator(self, method: str) -> Paginator:
        assert method == "describe_log_groups"
        if self.broken:
            raise Refused("logs:DescribeLogGroups denied")

        def groups(logGroupNamePrefix: str):
            return [
                {"logGroupName": n} | ({"retentionInDays": d} if d is not None else {})
                for n, d in self.groups.items()
                if n.startswith(logGroupNamePrefix)
            ]

        return Paginator(groups, "logGroups", [])

    def put_retention_policy(self, logGroupName: str, retentionInDays: int) -> None:
        self.groups[logGroupName] = retentionInDays


@dataclass
class CloudWatch:
    data: list = field(default_factory=list)
    broken: bool = False

    def put_metric_data(self, Namespace: str, MetricData: list) -> None:
        if self.broken:
            raise Refused("cloudwatch:PutMetricData denied")
        self.data.append((Namespace, {m["MetricName"]: m["Value"] for m in MetricData}))
        self.stamps = [(m["Dimensions"], m["Timestamp"]) for m in MetricData]


@dataclass
class Dynamo:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    broken_get: bool = False
    broken_put: bool = False

    def get_item(self, TableName: str, Key: dict, ConsistentRead: bool) -> dict[str, Any]:
        if self.broken_get:
            raise Refused("dynamodb:GetItem denied")
        item = self.items.get(Key["slot"]["S"])
        return {"Item": item} if item else {}

    def put_item(self, TableName: str, Item: dict) -> None:
        if self.broken_put:
            raise Refused("dynamodb:PutItem denied")
        self.items[Item["slot"]["S"]] = Item


class Store:
    """The results store as a sweep reads it: records by status, a config's newest runs."""

    def __init__(self, records: list[Record], runs: dict[str, list[Run]]) -> None:
        self.records, self.runs = records, runs
        self.unreadable: dict[str, str] = {"stale": "from an earlier sweep"}
        self.limits: list[int | None] = []

    def by_status(self, status: str, before: str | None = None):
        return iter([r for r in self.records if r.testStatus == status])

    def history(self, config_id: str, limit: int | None = None) -> list[Run]:
        self.limits.append(limit)
        runs = self.runs.get(config_id, [])
        return runs[:limit] if limit is not None else runs


def record(n: int, project: str, status: str = "pass", **kw: Any) -> Record:
    values: dict[str, Any] = dict(
        configId=f"{n:016x}",
        configJson="{}",
        deploymentConfig=f"cfg-{n}",
        buildStrategy="codebuild-submit",
        projectName=project,
        createdAt=iso(NOW - timedelta(days=30)),
        source="catalog",
        version=1,
        testStatus=status,
        lastTestTimestamp=iso(NOW - timedelta(days=1)),
    )
    return Record(**(values | kw))


def run(n: int, start: datetime, minutes: int = 30) -> Run:
    return Run(
        configId=f"{n:016x}",
        startedAt=iso(start),
        runId=f"run-{start:%H%M}",
        finishedAt=iso(start + timedelta(minutes=minutes)),
        status="pass",
        durationSeconds=minutes * 60.0,
        deploymentConfig=f"cfg-{n}",
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def account() -> tuple[Store, SageMaker, CodeBuild]:
    """flask finished a run (T0 to T0 + 30 min) and left its endpoint, an orphan config and
    model, and its nested build; vllm's run is under way; a person made flask-endpoint-2 a day
    before any run; another team's name merely contains the prefix."""
    store = Store(
        [
            record(1, "flask"),
            record(2, "vllm", "running", runId="r2", runStartedAt=iso(NOW - timedelta(minutes=10))),
            record(3, "bad name!"),  # no valid name under the prefix: made nothing there
        ],
        {f"{1:016x}": [run(1, T0)], f"{2:016x}": [run(2, T0)]},
    )
    sm = SageMaker(
        endpoints={
            "mlcc-ci-flask-endpoint-1": {
                "CreationTime": at(5),
                "EndpointConfigName": "mlcc-ci-flask-epc-1",
            },
            "mlcc-ci-flask-endpoint-2": {
                "CreationTime": NOW - timedelta(days=1),
                "EndpointConfigName": "mlcc-ci-flask-epc-2",
            },
            "mlcc-ci-vllm-endpoint-1": {
                "CreationTime": at(5),
                "EndpointConfigName": "mlcc-ci-vllm-epc-1",
            },
            "team-mlcc-ci-flask-endpoint-1": {"CreationTime": at(5), "EndpointConfigName": "x"},
        },
        configs={
            "mlcc-ci-flask-epc-1": {"CreationTime": at(4), "models": ["mlcc-ci-flask-model-1"]},
            "mlcc-ci-flask-epc-2": {
                "CreationTime": iso(at(-1440)),
                "models": ["mlcc-ci-flask-model-2"],
            },
            "mlcc-ci-flask-epc-9": {"CreationTime": iso(at(20)), "models": [""]},
            "mlcc-ci-vllm-epc-1": {"CreationTime": at(4), "models": []},
            "team-mlcc-ci-flask-epc-1": {
                "CreationTime": at(4),
                "models": ["mlcc-ci-flask-model-7"],
            },
        },
        models={
            "mlcc-ci-flask-model-1": at(3),
            "mlcc-ci-flask-model-2": at(-1440),
            "mlcc-ci-flask-model-3": at(25),
            "mlcc-ci-flask-model-5": at(26),
            "mlcc-ci-flask-model-7": at(27),
            "team-mlcc-ci-flask-model-3": at(25),
        },
        components={
            "mlcc-ci-flask-default-1": {
                "CreationTime": at(6),
                "EndpointName": "mlcc-ci-flask-endpoint-1",
                "model": "",
            },
            "mlcc-ci-vllm-default-1": {
                "CreationTime": at(6),
                "EndpointName": "mlcc-ci-vllm-endpoint-1",
                "model": "mlcc-ci-flask-model-5",
            },
            "team-mlcc-ci-x-default-1": {
                "CreationTime": at(6),
                "EndpointName": "team-mlcc-ci-flask-endpoint-1",
                "model": "mlcc-ci-flask-model-3",
            },
        },
    )
    codebuild = CodeBuild(
        projects={
            "mlcc-ci-flask-build-use1": at(2),
            "mlcc-ci-vllm-build-use1": at(2),
            "mlcc-ci-flask-tests": at(2),  # not a nested build's name
            "team-mlcc-ci-flask-build-use1": at(2),
        },
        builds={"mlcc-ci-flask-build-use1": ["b-flask"], "mlcc-ci-vllm-build-use1": ["b-vllm"]},
    )
    return store, sm, codebuild


LEAKED = [
    {"resource": "mlcc-ci-flask-endpoint-1", "reason": "left by a finished run of mlcc-ci-flask"},
    {"resource": "mlcc-ci-flask-epc-9", "reason": "left by a finished run of mlcc-ci-flask"},
    {"resource": "mlcc-ci-flask-model-3", "reason": "left by a finished run of mlcc-ci-flask"},
    {"resource": "mlcc-ci-flask-model-7", "reason": "left by a finished run of mlcc-ci-flask"},
    {"resource": "mlcc-ci-flask-build-use1", "reason": "left by a finished run of mlcc-ci-flask"},
]
LEFT = [
    {
        "resource": "mlcc-ci-flask-endpoint-2",
        "reason": "made outside every recorded run of mlcc-ci-flask (by hand?)",
    }
]
DELETED = [
    "inference component mlcc-ci-flask-default-1",
    "endpoint mlcc-ci-flask-endpoint-1",
    "endpoint config mlcc-ci-flask-epc-1",
    "model mlcc-ci-flask-model-1",
    "endpoint config mlcc-ci-flask-epc-9",
    "model mlcc-ci-flask-model-3",
    "model mlcc-ci-flask-model-7",
    "nested build project mlcc-ci-flask-build-use1",
]


def swept(capsys, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    store, sm, codebuild = kwargs.pop("account", None) or account()
    published: list[tuple[str, str]] = kwargs.pop("published", [])
    kwargs.setdefault("codebuild", codebuild)
    result = sweeper.sweep(
        store, sm, NOW, POLICY, publish=lambda s, m: published.append((s, m)), **kwargs
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    return result, json.loads(lines[0])


def test_a_sweep_deletes_what_a_finished_run_left_keeps_a_live_runs_and_leaves_the_rest(capsys):
    store, sm, codebuild = account()
    logs = Logs(
        {
            "/aws/codebuild/mlcc-ci-flask-build-use1": None,
            "/aws/codebuild/mlcc-ci-vllm-build-use1": 7,
            "/aws/codebuild/other-build-use1": None,
        }
    )
    cloudwatch, published = CloudWatch(), []
    result, printed = swept(
        capsys,
        account=(store, sm, codebuild),
        published=published,
        logs=logs,
        cloudwatch=cloudwatch,
    )
    assert result == {
        "leaked": LEAKED,
        "left": LEFT,
        "deleted": DELETED,
        "errors": [],
        "logRetention": ["/aws/codebuild/mlcc-ci-flask-build-use1"],
        "nestedBuilds": {"stopped": ["b-flask"], "running": ["b-vllm"]},
        "fleet": {"in_service": 2, "oldest_minutes": 1440.0},
        "unreadable": [],
        "dryRun": False,
    }
    # what is left in the account: the live run's, the person's, the other team's
    assert sorted(sm.endpoints) == [
        "mlcc-ci-flask-endpoint-2",
        "mlcc-ci-vllm-endpoint-1",
        "team-mlcc-ci-flask-endpoint-1",
    ]
    assert sorted(sm.configs) == [
        "mlcc-ci-flask-epc-2",
        "mlcc-ci-vllm-epc-1",
        "team-mlcc-ci-flask-epc-1",
    ]
    assert sorted(sm.models) == [
        "mlcc-ci-flask-model-2",
        "mlcc-ci-flask-model-5",
        "team-mlcc-ci-flask-model-3",
    ]
    assert sorted(codebuild.projects) == [
        "mlcc-ci-flask-tests",
        "mlcc-ci-vllm-build-use1",
        "team-mlcc-ci-flask-build-use1",
    ]
    assert codebuild.stopped == ["b-flask"]
    assert codebuild.batches == [["mlcc-ci-flask-build-use1", "mlcc-ci-vllm-build-use1"]]
    assert logs.groups == {
        "/aws/codebuild/mlcc-ci-flask-build-use1": 30,
        "/aws/codebuild/mlcc-ci-vllm-build-use1": 7,
        "/aws/codebuild/other-build-use1": None,
    }
    assert cloudwatch.data == [
        ("mlcc-ci", {"EndpointsInService": 2.0, "OldestEndpointMinutes": 1440.0})
    ]
    assert cloudwatch.stamps == [([{"Name": "Prefix", "Value": "mlcc-ci"}], NOW)] * 2
    # the listings ask SageMaker for names containing the prefix
    assert ("Endpoints", {"NameContains": "mlcc-ci"}) in sm.calls
    assert ("EndpointConfigs", {"NameContains": "mlcc-ci"}) in sm.calls
    assert ("Models", {"NameContains": "mlcc-ci"}) in sm.calls
    assert ("InferenceComponents", {"NameContains": "mlcc-ci"}) in sm.calls
    # only what is under the prefix is described (another team's is AccessDenied)
    assert not [n for n in sm.described if n.startswith("team-")]
    # the finished run's history is read, as many runs as HISTORY_RUNS
    assert store.limits == [50]
    assert published == [
        (
            "mlcc-ci sweeper deleted 8 resource(s)",
            "What runs left behind, under the CI prefix:\n"
            + "\n".join(f"- deleted {d}" for d in DELETED)
            + "\n- stopped nested build b-flask (its run is over)"
            + "\n- left alone mlcc-ci-flask-endpoint-2: made outside every recorded run of"
            " mlcc-ci-flask (by hand?)",
        )
    ]
    assert printed == {
        "event": "swept",
        **result,
        "_aws": {
            "Timestamp": int(NOW.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "mlcc-ci",
                    "Dimensions": [["Prefix"]],
                    "Metrics": [{"Name": "SweepFailures", "Unit": "Count"}],
                }
            ],
        },
        "Prefix": "mlcc-ci",
        "SweepFailures": 0,
    }


def test_the_sweeps_line_is_flushed_before_it_returns(monkeypatch):
    """Lambda may freeze the process once the handler returns: the line must be out."""
    events: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            events.append("write")

        def flush(self) -> None:
            events.append("flush")

    monkeypatch.setattr("sys.stdout", Out())
    store, sm, codebuild = account()
    sweeper.sweep(store, sm, NOW, POLICY, codebuild=codebuild)
    assert events[-1] == "flush" and "write" in events


def test_a_dry_run_deletes_stops_bounds_and_publishes_nothing_and_lists_the_same(capsys):
    store, sm, codebuild = account()
    logs, published = Logs({"/aws/codebuild/mlcc-ci-flask-build-use1": None}), []
    result, printed = swept(
        capsys, account=(store, sm, codebuild), published=published, logs=logs, dry_run=True
    )
    assert result["leaked"] == LEAKED
    assert result["left"] == LEFT
    assert result["deleted"] == []
    assert result["logRetention"] == []
    assert result["dryRun"] is True
    assert result["nestedBuilds"] == {"stopped": ["b-flask"], "running": ["b-vllm"]}
    assert codebuild.stopped == []
    assert len(sm.endpoints) == 4 and len(sm.configs) == 5 and len(sm.models) == 6
    assert len(codebuild.projects) == 4
    assert logs.groups == {"/aws/codebuild/mlcc-ci-flask-build-use1": None}
    assert published == []
    assert printed["dryRun"] is True


def test_without_codebuild_logs_or_cloudwatch_a_sweep_does_the_rest(capsys):
    result, _ = swept(capsys, codebuild=None)
    assert result["leaked"] == LEAKED[:4]
    assert result["deleted"] == DELETED[:-1]
    assert result["nestedBuilds"] == {"stopped": [], "running": []}
    assert result["logRetention"] == []
    assert result["errors"] == []
    assert result["fleet"] == {"in_service": 2, "oldest_minutes": 1440.0}


def test_the_default_remover_waits_for_components_as_long_as_one_sweep_may(capsys, monkeypatch):
    made = []

    class Remover:
        def __init__(self, sagemaker, *, patience):
            made.append((sagemaker, patience))

        def delete(self, endpoint, gone):
            gone.append(f"endpoint {endpoint}")

    monkeypatch.setattr(sweeper, "Remover", Remover)
    store, sm, codebuild = account()
    result, _ = swept(capsys, account=(store, sm, codebuild))
    assert made == [(sm, 300.0)]
    assert result["deleted"][0] == "endpoint mlcc-ci-flask-endpoint-1"


def test_a_given_remover_is_the_one_used(capsys):
    asked = []

    class Remover:
        def delete(self, endpoint, gone):
            asked.append(endpoint)

    swept(capsys, sweeper=Remover())
    assert asked == ["mlcc-ci-flask-endpoint-1"]


def test_what_resists_is_said_and_counted_and_never_keeps_the_others(capsys):
    store, sm, codebuild = account()
    sm.refuse = {"mlcc-ci-flask-endpoint-1", "mlcc-ci-flask-model-3"}
    codebuild.refuse = {"mlcc-ci-flask-build-use1"}
    published: list = []
    result, printed = swept(
        capsys,
        account=(store, sm, codebuild),
        published=published,
        logs=Logs(broken=True),
        cloudwatch=CloudWatch(broken=True),
    )
    errors = [
        {
            "resource": "mlcc-ci-flask-endpoint-1",
            "error": "Refused: mlcc-ci-flask-endpoint-1 is in use",
        },
        {"resource": "mlcc-ci-flask-model-3", "error": "Refused: mlcc-ci-flask-model-3 is in use"},
        {
            "resource": "mlcc-ci-flask-build-use1",
            "error": "Refused: mlcc-ci-flask-build-use1 is in use",
        },
        {
            "resource": "/aws/codebuild/mlcc-ci-*",
            "error": "Refused: logs:DescribeLogGroups denied",
        },
        {"resource": "metrics", "error": "Refused: cloudwatch:PutMetricData denied"},
    ]
    assert result["errors"] == errors
    # the endpoint stays, so its config is in use; the orphans go all the same
    assert result["deleted"] == [
        "inference component mlcc-ci-flask-default-1",
        "endpoint config mlcc-ci-flask-epc-9",
        "model mlcc-ci-flask-model-7",
    ]
    assert "mlcc-ci-flask-epc-1" in sm.configs
    assert result["fleet"] is None
    assert printed["SweepFailures"] == 5
    assert published[0][0] == "mlcc-ci sweeper deleted 3 resource(s), 4 could not be deleted"
    assert (
        "\n- NOT deleted mlcc-ci-flask-endpoint-1: Refused: mlcc-ci-flask-endpoint-1 is in use"
        in (published[0][1])
    )


def test_a_sweep_with_nothing_to_say_publishes_nothing(capsys):
    store = Store([record(1, "flask")], {f"{1:016x}": [run(1, T0)]})
    published: list = []
    result, printed = swept(capsys, account=(store, SageMaker(), CodeBuild()), published=published)
    assert published == []
    assert result["leaked"] == result["left"] == result["deleted"] == []
    assert result["fleet"] == {"in_service": 0, "oldest_minutes": 0.0}
    assert printed["SweepFailures"] == 0


@pytest.mark.parametrize("only", ["deleted", "stopped", "news", "errors"])
def test_any_one_of_deleted_stopped_told_or_failed_is_published(capsys, only):
    store = Store([record(1, "flask")], {f"{1:016x}": [run(1, T0)]})
    sm, codebuild = SageMaker(), CodeBuild()
    if only == "deleted":
        sm.models["mlcc-ci-flask-model-3"] = at(25)
    elif only == "stopped":
        codebuild.builds["mlcc-ci-flask-build-use1"] = ["b-1"]
        codebuild.projects["mlcc-ci-flask-build-use1"] = at(-60)  # before the run: left
        codebuild.projects.pop("mlcc-ci-flask-build-use1")
    elif only == "news":
        sm.models["mlcc-ci-flask-model-3"] = at(-600)
    else:
        sm.models["mlcc-ci-flask-model-3"] = at(25)
        sm.refuse = {"mlcc-ci-flask-model-3"}
    published: list = []
    if only == "stopped":
        codebuild.get_paginator = lambda method: Paginator(
            lambda **kw: ["mlcc-ci-flask-build-use1"], "projects", []
        )
        codebuild.batch_get_projects = lambda names: {"projects": []}
    swept(capsys, account=(store, sm, codebuild), published=published)
    assert len(published) == 1
    expected = {
        "deleted": "- deleted model mlcc-ci-flask-model-3",
        "stopped": "- stopped nested build b-1 (its run is over)",
        "news": "- left alone mlcc-ci-flask-model-3: made outside every recorded run of"
        " mlcc-ci-flask (by hand?)",
        "errors": "- NOT deleted mlcc-ci-flask-model-3: Refused: mlcc-ci-flask-model-3 is in use",
    }[only]
    assert published[0][1] == "What runs left behind, under the CI prefix:\n" + expected


def test_what_no_run_made_is_told_of_once_and_remembered_for_30_days(capsys):
    dynamo = Dynamo()
    told = Told(dynamo, "slots")
    published: list = []
    swept(capsys, told=told, published=published)
    item = dynamo.items["told#mlcc-ci-flask-endpoint-2"]
    assert item["expiresAt"] == {"N": str(int((NOW + timedelta(days=30)).timestamp()))}
    assert list(dynamo.items) == ["told#mlcc-ci-flask-endpoint-2"]
    assert "- left alone mlcc-ci-flask-endpoint-2" in published[0][1]
    # the next sweep: nothing left to delete, the person's endpoint already told of
    store, sm, codebuild = account()
    for name in ["mlcc-ci-flask-endpoint-1", "mlcc-ci-flask-epc-1", "mlcc-ci-flask-epc-9"]:
        sm.endpoints.pop(name, None)
        sm.configs.pop(name, None)
    sm.components.pop("mlcc-ci-flask-default-1")
    for name in ["mlcc-ci-flask-model-1", "mlcc-ci-flask-model-3", "mlcc-ci-flask-model-7"]:
        sm.models.pop(name)
    codebuild.builds.clear()
    codebuild.projects.pop("mlcc-ci-flask-build-use1")
    again: list = []
    result, _ = swept(capsys, account=(store, sm, codebuild), told=told, published=again)
    assert again == []
    assert result["left"] == LEFT  # still listed in the result, only not published


def test_a_told_table_that_cannot_be_read_or_written_tells_again_and_says_so(capsys):
    published: list = []
    result, _ = swept(capsys, told=Told(Dynamo(broken_get=True), "slots"), published=published)
    assert "- left alone mlcc-ci-flask-endpoint-2" in published[0][1]
    assert result["errors"] == [
        {"resource": "told#mlcc-ci-flask-endpoint-2", "error": "Refused: dynamodb:GetItem denied"}
    ]
    published.clear()
    result, _ = swept(capsys, told=Told(Dynamo(broken_put=True), "slots"), published=published)
    assert "- left alone mlcc-ci-flask-endpoint-2" in published[0][1]
    assert result["errors"] == [
        {"resource": "mlcc-ci-flask-endpoint-2", "error": "Refused: dynamodb:PutItem denied"}
    ]


def test_the_sweep_forgets_what_an_earlier_sweep_could_not_read(capsys):
    store, sm, codebuild = account()

    class Unreadable(Store):
        def by_status(self, status, before=None):
            if status == "pass":
                self.unreadable["0000000000000009"] = "not JSON"
            return super().by_status(status, before)

    store.__class__ = Unreadable
    result, _ = swept(capsys, account=(store, sm, codebuild))
    assert result["unreadable"] == [{"configId": "0000000000000009", "reason": "not JSON"}]


def test_the_sweep_works_under_the_prefix_it_is_given(capsys):
    store = Store([record(1, "flask")], {f"{1:016x}": [run(1, T0)]})
    sm = SageMaker(models={"ci2-flask-model-3": at(25), "mlcc-ci-flask-model-3": at(25)})
    codebuild = CodeBuild(
        projects={"ci2-flask-build-use1": at(2), "mlcc-ci-flask-build-use1": at(2)}
    )
    logs = Logs(
        {"/aws/codebuild/ci2-flask-build-use1": None, "/aws/codebuild/mlcc-ci-x-build-use1": None}
    )
    result, printed = swept(
        capsys, account=(store, sm, codebuild), prefix="ci2", logs=logs, cloudwatch=CloudWatch()
    )
    assert result["deleted"] == [
        "model ci2-flask-model-3",
        "nested build project ci2-flask-build-use1",
    ]
    assert result["logRetention"] == ["/aws/codebuild/ci2-flask-build-use1"]
    assert printed["Prefix"] == "ci2"
    assert ("Models", {"NameContains": "ci2"}) in sm.calls


def _projects(records, runs, owning=("mlcc-ci-flask-endpoint-1",), now=NOW):
    return sweeper.projects(Store(records, runs), now, POLICY, "mlcc-ci", owning)


def test_a_run_within_its_deadline_is_live_and_owns_no_windows():
    started = NOW - POLICY.orphan_after
    found = _projects([record(1, "flask", "running", runStartedAt=iso(started))], {})
    assert found == [Project("mlcc-ci-flask", True, ())]


def test_a_running_record_past_its_deadline_ran_until_now():
    started = NOW - POLICY.orphan_after - timedelta(seconds=1)
    found = _projects(
        [record(1, "flask", "running", runStartedAt=iso(started))],
        {f"{1:016x}": [run(1, T0)]},
    )
    assert found == [
        Project("mlcc-ci-flask", False, ((T0, at(30)), (started.replace(microsecond=0), NOW)))
    ]


def test_a_run_that_claims_a_future_start_beyond_the_skew_owns_nothing():
    within = NOW + timedelta(minutes=5)
    beyond = within + timedelta(seconds=1)
    assert _projects([record(1, "flask", "running", runStartedAt=iso(within))], {})[0].live
    found = _projects([record(1, "flask", "running", runStartedAt=iso(beyond))], {})
    assert found == [Project("mlcc-ci-flask", False, ((beyond, NOW),))]


def test_a_running_record_without_a_start_is_timed_by_its_last_test():
    last = NOW - timedelta(minutes=10)
    found = _projects([record(1, "flask", "running", lastTestTimestamp=iso(last))], {})
    assert found == [Project("mlcc-ci-flask", True, ())]
    old = NOW - timedelta(days=1)
    found = _projects([record(1, "flask", "running", lastTestTimestamp=iso(old))], {})
    assert found == [Project("mlcc-ci-flask", False, ())]


def test_windows_are_read_only_for_projects_something_under_the_prefix_names():
    runs = {f"{1:016x}": [run(1, T0)]}
    assert _projects([record(1, "flask")], runs, owning=()) == [Project("mlcc-ci-flask", False)]
    # "mlcc-ci-flask" itself, or another project's name that starts the same, names nothing
    owning = ("mlcc-ci-flask", "mlcc-ci-flaskx-model")
    assert _projects([record(1, "flask")], runs, owning=owning) == [Project("mlcc-ci-flask", False)]
    found = _projects([record(1, "flask")], runs, owning=("mlcc-ci-flask-model",))
    assert found == [Project("mlcc-ci-flask", False, ((T0, at(30)),))]


def test_a_record_that_cannot_run_under_the_prefix_hides_no_other():
    runs = {f"{1:016x}": [run(1, T0)]}
    found = _projects([record(3, "bad name!"), record(1, "flask")], runs)
    assert found == [Project("mlcc-ci-flask", False, ((T0, at(30)),))]


def test_the_records_of_one_project_share_it_and_each_status_is_read():
    runs = {f"{1:016x}": [run(1, T0)], f"{2:016x}": [run(2, at(60))]}
    records = [record(1, "flask", "fail-build"), record(2, "mlcc-ci-flask", "untested")]
    found = _projects(records, runs)  # read status by status: untested before fail-build
    assert found == [Project("mlcc-ci-flask", False, ((at(60), at(90)), (T0, at(30))))]


def test_creation_times_are_read_as_given_or_from_iso_text():
    assert sweeper._created(T0) is T0
    assert sweeper._created("2026-12-01T09:00:00Z") == T0
    assert sweeper._created(datetime(2026, 12, 1, 9, 0)) == datetime(2026, 12, 1, 9, 0)


def test_nested_projects_are_described_a_hundred_at_a_time():
    names = {f"mlcc-ci-p{i}-build-use1": at(i) for i in range(201)}
    codebuild = CodeBuild(projects=names | {"mlcc-ci-p1-tests": at(0)})
    found = sweeper._nested_projects(codebuild, "mlcc-ci")
    assert found == names
    assert [len(b) for b in codebuild.batches] == [100, 100, 1]


def test_log_groups_bound_with_the_days_given():
    logs = Logs({"/aws/codebuild/mlcc-ci-a-build-use1": None, "/aws/codebuild/mlcc-ci-b": 3})
    assert sweeper.bound_nested_logs(logs, "mlcc-ci", days=7) == [
        "/aws/codebuild/mlcc-ci-a-build-use1"
    ]
    assert logs.groups == {"/aws/codebuild/mlcc-ci-a-build-use1": 7, "/aws/codebuild/mlcc-ci-b": 3}


def test_a_page_of_log_groups_without_the_key_is_empty():
    class Bare:
        def get_paginator(self, method):
            class P:
                def paginate(self, **kw):
                    return [{}]

            return P()

    assert sweeper.bound_nested_logs(Bare(), "mlcc-ci") == []


def test_an_endpoint_gone_meanwhile_uses_no_config():
    sm = SageMaker(
        endpoints={"mlcc-ci-a-endpoint-1": {"EndpointConfigName": "c", "CreationTime": T0}}
    )
    assert sweeper._used_configs(sm, ["mlcc-ci-gone-endpoint-1", "mlcc-ci-a-endpoint-1"]) == {"c"}


def test_models_named_by_variants_and_components_without_a_model_name_are_none():
    sm = SageMaker(
        configs={
            "team-mlcc-ci-epc-1": {"CreationTime": T0, "models": ["t1"]},
            "mlcc-ci-epc-1": {"CreationTime": T0, "models": ["m1", ""]},
        },
        components={
            "team-mlcc-ci-c-1": {"CreationTime": T0, "EndpointName": "e", "model": "t2"},
            "mlcc-ci-c-1": {"CreationTime": T0, "EndpointName": "e", "model": "m2"},
            "mlcc-ci-c-2": {"CreationTime": T0, "EndpointName": "e", "model": ""},
        },
    )
    # another team's config or component, though its name contains the prefix, is not read
    assert sweeper._used_models(sm, "mlcc-ci") == {"m1", "m2", ""}
    assert not [n for n in sm.described if n.startswith("team-")]


def test_a_config_or_component_described_without_variants_or_specification_names_no_model():
    class Bare(SageMaker):
        def describe_endpoint_config(self, EndpointConfigName):
            return {"EndpointConfigName": EndpointConfigName}

        def describe_inference_component(self, InferenceComponentName):
            return {"InferenceComponentStatus": "InService"}

    sm = Bare(
        configs={"mlcc-ci-epc-1": {"CreationTime": T0, "models": ["m1"]}},
        components={"mlcc-ci-c-1": {"CreationTime": T0, "EndpointName": "e", "model": "m2"}},
    )
    assert sweeper._used_models(sm, "mlcc-ci") == {""}


class Sns:
    def __init__(self) -> None:
        self.published: list[dict[str, str]] = []

    def publish(self, **kwargs: str) -> None:
        self.published.append(kwargs)


class Session:
    def __init__(self) -> None:
        self.clients: list[str] = []
        self.sns = Sns()

    def client(self, name: str) -> Any:
        self.clients.append(name)
        return self.sns if name == "sns" else f"<{name}>"


def _handled(monkeypatch, event, env):
    from mlcc_ci.aws import scanner

    session, calls = Session(), []

    def context(given_env, given_session):
        assert given_session is session
        return given_env, given_session, "<store>"

    monkeypatch.setattr(scanner, "lambda_context", context)
    monkeypatch.setattr(sweeper, "sweep", lambda *a, **kw: calls.append((a, kw)) or {"done": 1})
    monkeypatch.setattr(sweeper.clock, "now", lambda: NOW)
    assert sweeper.handler(event, None, env=env, session=session) == {"done": 1}
    [(args, kwargs)] = calls
    return session, args, kwargs


@pytest.mark.parametrize(
    ("event", "dry_run"),
    [({"dryRun": False}, False), ({}, True), ({"dryRun": True}, True), ({"dryRun": 0}, True)],
)
def test_the_handler_deletes_only_when_told_dry_run_false_exactly(monkeypatch, event, dry_run):
    _, _, kwargs = _handled(monkeypatch, event, {})
    assert kwargs["dry_run"] is dry_run


def test_the_handler_sweeps_as_its_environment_says(monkeypatch):
    env = {"MLCC_CI_RESOURCE_PREFIX": "ci2", "SLOTS_TABLE_NAME": "slots", "STALE_HOURS": "5"}
    env |= {"PATIENCE_SECONDS": "12", "POLL_SECONDS": "0.5"}
    session, args, kwargs = _handled(monkeypatch, {"dryRun": False}, env)
    assert args == ("<store>", "<sagemaker>", NOW, Policy(timedelta(hours=5), 1))
    assert kwargs["prefix"] == "ci2"
    remover = kwargs["sweeper"]
    assert (remover.sagemaker, remover.patience, remover.poll) == ("<sagemaker>", 12.0, 0.5)
    assert (kwargs["logs"], kwargs["codebuild"], kwargs["cloudwatch"]) == (
        "<logs>",
        "<codebuild>",
        "<cloudwatch>",
    )
    assert (kwargs["told"].dynamodb, kwargs["told"].table) == ("<dynamodb>", "slots")
    assert kwargs["publish"]("s", "m") is None  # no TOPIC_ARN: a no-op
    assert session.sns.published == []
    assert sorted(session.clients) == ["cloudwatch", "codebuild", "dynamodb", "logs", "sagemaker"]


def test_the_handler_publishes_to_the_topic_through_its_session(monkeypatch):
    env = {"TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:mlcc-ci-notifications"}
    session, _, kwargs = _handled(monkeypatch, {"dryRun": False}, env)
    kwargs["publish"]("subject", "message")
    assert session.sns.published == [
        {"TopicArn": env["TOPIC_ARN"], "Subject": "subject", "Message": "message"}
    ]


def test_the_handler_without_a_prefix_or_slots_table_uses_the_defaults(monkeypatch):
    _, _, kwargs = _handled(monkeypatch, {"dryRun": False}, {})
    assert kwargs["prefix"] == "mlcc-ci"
    assert kwargs["told"] is None
    remover = kwargs["sweeper"]
    assert (remover.patience, remover.poll) == (300.0, sweeper.POLL_SECONDS)

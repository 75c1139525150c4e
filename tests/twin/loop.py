"""The AWS loop against the simulated account, each part as the stack deploys it: the
scanner Lambda's handler with the environment the template gives it, the orchestrator's
definition from the template (stepfunctions.py), the executor builds (codebuild.py), and the
sweeper Lambda's handler. Each part signs its calls with a key of its own, so the calls of
the executor role can be told from the rest."""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from mlcc_ci.constants import SCANNER_FUNCTION, SWEEPER_FUNCTION
from tests.twin.codebuild import EXECUTOR_KEY, Build, CodeBuild
from tests.twin.hosting import ACCOUNT
from tests.twin.server import Twin
from tests.twin.stepfunctions import Execution, StateMachine, TaskFailed
from tests.twin.template import REGION, Template

KEYS = {
    "scanner": "AKIATWINSCANNER00001",
    "sweeper": "AKIATWINSWEEPER00001",
    "recorder": "AKIATWINRECORDER0001",
    "orchestrator": "AKIATWINSTATES000001",
    # Step Functions itself reading an execution's input to run it: no role of the stack's
    "stepfunctions": "AKIATWINSFNSERVICE01",
}
# the nested builds' roles (cdk nested.py): <project>-build-<region code>-service-role
NESTED_ROLE = re.compile(r"-build-[a-z0-9]+-service-role$")
RECORDER_HANDLER = "mlcc_ci.aws.recorder.handler"  # the orchestrator's failure path


def recorder_name(template: Template) -> str:
    """The name of the Lambda function the orchestrator's failure path invokes."""
    (name,) = [
        template.name(logical)
        for logical in template.of_type("AWS::Lambda::Function")
        if template.properties(logical)["Handler"] == RECORDER_HANDLER
    ]
    return name


def function_env(template: Template, name: str) -> dict[str, str]:
    """The environment the template gives the Lambda function `name`."""
    for logical in template.of_type("AWS::Lambda::Function"):
        if template.name(logical) == name:
            variables = template.properties(logical)["Environment"]["Variables"]
            return {k: str(v) for k, v in variables.items()}
    raise KeyError(name)


def _role_of(template: Template, logical: str, prop: str) -> str:
    """The logical id of the role a resource's property names (Fn::GetAtt <role>.Arn)."""
    ref = template.resources[logical]["Properties"][prop]
    (role, attribute) = ref["Fn::GetAtt"]
    assert attribute == "Arn", ref
    return str(role)


def principals(template: Template) -> dict[str, str]:
    """Each principal's access key (or, for a nested build, its role's ARN: a build signs
    nothing the twin sees, server.py checks its steps by the project's service role) and the
    logical id of the role it acts as."""
    found = {}
    names = {SCANNER_FUNCTION: "scanner", SWEEPER_FUNCTION: "sweeper"}
    names[recorder_name(template)] = "recorder"
    for logical in template.of_type("AWS::Lambda::Function"):
        who = names.get(template.name(logical))
        if who:
            found[KEYS[who]] = _role_of(template, logical, "Role")
    (machine,) = template.of_type("AWS::StepFunctions::StateMachine")
    found[KEYS["orchestrator"]] = _role_of(template, machine, "RoleArn")
    roles = template.of_type("AWS::IAM::Role")
    nested = {
        logical
        for logical, r in roles.items()
        if NESTED_ROLE.search(r["Properties"].get("RoleName", ""))
    }
    executor = {
        _role_of(template, logical, "ServiceRole")
        for logical in template.of_type("AWS::CodeBuild::Project")
    } - nested
    (found[EXECUTOR_KEY],) = executor
    for logical in sorted(nested):
        found[template.arn(logical)] = logical
    return found


def enforce_roles(twin: Twin, template: Template) -> dict[str, str]:
    """Install, for every principal, what IAM would say under its synthesized role (see
    iam.py): the scanner's, the orchestrator's, the sweeper's, the executor's and each
    nested build's. What the twin answered before stays; what comes after is checked.
    Returns {key or role ARN: role logical id}."""
    from tests.twin import iam

    found = principals(template)
    for key, role in found.items():
        name = template.name(role)
        twin.enforced[key] = iam.authorizer(
            template.policies_of(role),
            f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/twin",
            template.boundary_of(role),
        )
    return found


def session(who: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=KEYS[who], aws_secret_access_key=f"twin-{who}", region_name=REGION
    )


@dataclass
class Run:
    config_id: str
    execution: Execution
    builds: list[Build] = field(default_factory=list)


class Loop:
    def __init__(self, twin: Twin, template: Template, codebuild: CodeBuild) -> None:
        self.twin = twin
        self.template = template
        self.codebuild = codebuild
        self.states = session("stepfunctions").client("stepfunctions", endpoint_url=twin.url)
        self.definition = self._definition()

    def _definition(self) -> dict[str, Any]:
        (logical,) = self.template.of_type("AWS::StepFunctions::StateMachine")
        return dict(json.loads(self.template.properties(logical)["DefinitionString"]))

    def function_env(self, name: str) -> dict[str, str]:
        return function_env(self.template, name)

    def scan(self, at: datetime | None = None) -> dict[str, Any]:
        """The scanner, invoked by hand (`mlcc-ci trigger`: no event), or `at` a time by its
        schedule: with the event EventBridge sends then, which carries that time. A test
        moves time forward for the scanner this way only: what it is told is what a
        schedule firing then would tell it."""
        from mlcc_ci.aws.scanner import handler

        env = self.function_env("mlcc-ci-scanner")
        event = {} if at is None else self.scheduled_event(at)
        return dict(handler(event, None, env=env, session=session("scanner")))

    def scan_concurrently(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The scanner invoked for every event at once, as Lambda may: EventBridge invokes
        its target asynchronously, and then "occasionally, your function may receive the
        same event multiple times, even if no error occurs" (Invoke, https://docs.aws.
        amazon.com/lambda/latest/api/API_Invoke.html; https://docs.aws.amazon.com/lambda/
        latest/dg/invocation-async.html); and `mlcc-ci trigger` (the event `{}`) may
        overlap a scheduled scan. Each invocation is a Lambda instance of its own: its own
        session, released together."""
        from mlcc_ci.aws.scanner import handler

        env = self.function_env("mlcc-ci-scanner")
        sessions = [session("scanner") for _ in events]  # made here: boto3 is not thread-safe
        together = threading.Barrier(len(events))

        def invoke(event: dict[str, Any], own: boto3.session.Session) -> dict[str, Any]:
            together.wait()
            return dict(handler(event, None, env=env, session=own))

        with ThreadPoolExecutor(max_workers=len(events)) as pool:
            return list(pool.map(invoke, events, sessions))

    def scheduled_event(self, at: datetime) -> dict[str, Any]:
        """What the template's scanner rule sends its target when it fires for `at`."""
        from mlcc_ci import clock
        from mlcc_ci.constants import SCHEDULE_RULE

        (rule,) = [
            logical
            for logical in self.template.of_type("AWS::Events::Rule")
            if self.template.name(logical) == SCHEDULE_RULE
        ]
        (target,) = self.template.properties(rule)["Targets"]
        assert not {"Input", "InputPath", "InputTransformer"} & set(target), target
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.template.ref("AWS::AccountId"),
            "time": clock.iso(at),
            "region": REGION,
            "resources": [
                f"arn:aws:events:{REGION}:{self.template.ref('AWS::AccountId')}:"
                f"rule/{SCHEDULE_RULE}"
            ],
            "detail": {},
        }

    def sweep(self, *, dry_run: bool = False, **knobs: str) -> dict[str, Any]:
        """The sweeper, as its schedule invokes it (`{"dryRun": false}`), or with
        `dry_run` as a person invokes it to see what it would delete."""
        from mlcc_ci.aws.sweeper import handler

        env = {**self.function_env("mlcc-ci-sweeper"), **knobs}
        event = {"dryRun": True} if dry_run else {"dryRun": False}
        return dict(handler(event, None, env=env, session=session("sweeper")))

    def enforce_roles(self) -> dict[str, str]:
        """Every principal of the stack acts under its synthesized role from now on."""
        return enforce_roles(self.twin, self.template)

    def execution_input(self, arn: str) -> dict[str, Any]:
        return dict(json.loads(self.states.describe_execution(executionArn=arn)["input"]))

    def record_failure(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The recorder Lambda, as the orchestrator's failure path invokes it: its handler
        with the environment the template gives it, as its own role."""
        from mlcc_ci.aws.recorder import handler

        env = self.function_env(recorder_name(self.template))
        return dict(handler(payload, None, env=env, session=session("recorder")))

    def machine(
        self,
        start_build: Callable[[dict[str, Any]], Build],
        definition: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> StateMachine:
        """The orchestrator's definition (the template's, unless given), its Lambda task
        invoking the recorder, its DynamoDB calls (none now) as the orchestrator's role."""
        dynamodb = session("orchestrator").client("dynamodb", endpoint_url=self.twin.url)
        lambdas = {recorder_name(self.template): self.record_failure}
        return StateMachine(
            definition or self.definition, start_build, dynamodb, lambdas=lambdas, sleep=sleep
        )

    def execute(
        self,
        arn: str,
        watch: Callable[[Build], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Run:
        """Run one execution the scanner started, as Step Functions would; `sleep` waits
        out the Retry intervals (a test passes one that records them)."""
        data = self.execution_input(arn)

        def start_build(params: dict[str, Any]) -> Build:
            self._may_start_build(params["ProjectName"])
            if self.twin.faults.take("throttle:StartBuild", params["ProjectName"]):
                # StartBuild refused with ThrottlingException, which the integration's SDK
                # does not model: named after its base exception, the code in the cause
                raise TaskFailed(
                    "CodeBuild.AWSCodeBuildException",
                    "Rate exceeded (Service: AWSCodeBuild; Status Code: 400; Error Code: "
                    "ThrottlingException; Request ID: twin)",
                )
            overrides = {v["Name"]: v["Value"] for v in params["EnvironmentVariablesOverride"]}
            stream = params["LogsConfigOverride"]["CloudWatchLogs"]["StreamName"]
            build = self.codebuild.start(params["ProjectName"], overrides, stream_prefix=stream)
            if watch is not None:
                threading.Thread(target=watch, args=(build,), daemon=True).start()
            return build

        machine = self.machine(start_build, sleep=sleep)
        execution = machine.run(data)
        return Run(data["configId"], execution, machine.builds)

    def _may_start_build(self, project: str) -> None:
        """The orchestrator's role against what the .sync CodeBuild task needs (its project;
        the rule Step Functions keeps for build events): refused as the task would be."""
        from tests.twin.iam import record, sync_build_calls

        check = self.twin.enforced.get(KEYS["orchestrator"])
        for call in sync_build_calls(project, KEYS["orchestrator"]):
            refusal = check(call) if check else None
            record(self.twin, call, refusal)
            if refusal:
                raise TaskFailed("CodeBuild.AccessDeniedException", refusal)

    def execute_all(
        self, arns: list[str], watchers: dict[str, Callable[[Build], None]] | None = None
    ) -> dict[str, Run]:
        """Every execution at once, as far as the machine allows."""
        watchers = watchers or {}
        with ThreadPoolExecutor(max_workers=max(len(arns), 1)) as pool:
            futures = [
                pool.submit(self.execute, arn, watchers.get(self.execution_input(arn)["configId"]))
                for arn in arns
            ]
            runs = [f.result() for f in futures]
        return {run.config_id: run for run in runs}

"""Every cdk-nag (AwsSolutions) finding the stack accepts, each with the reason it is accepted.

Wildcards here are name prefixes for what a run creates (<prefix>-*), log streams inside our
own log group, and the few actions AWS offers no resource-level permission for. No action
is `*` and none is a service-wide wildcard.
"""

from typing import Any

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

from mlcc_ci.stack.boundary import SERVICES

PREFIX_REASON = (
    "A run creates and deletes resources it names with the run prefix; the policy is "
    "scoped to that prefix, the narrowest scope known before the run."
)


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


def _logical(construct: Any) -> str:
    return Stack.of(construct).get_logical_id(construct.node.default_child)


def acknowledge(stack: Any) -> None:
    prefix = stack.names.prefix
    log_group = _logical(stack.log_group)
    # the role: its default policy and the managed policies CDK splits off when it is long
    executor_policy = stack.executor.role
    scanner_policy = stack.scanner.function.role.node.find_child("DefaultPolicy")
    orchestrator_policy = stack.orchestrator.state_machine.role.node.find_child("DefaultPolicy")
    region_account = "<AWS::Region>:<AWS::AccountId>"
    # What the CDK constructs generate uses the stack's region and account, concrete when
    # the app is given an environment (`cdk synth` with credentials or CDK_DEFAULT_*).
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    generated = f"{region}:{account}"

    sweeper_policy = stack.sweeper.function.role.node.find_child("DefaultPolicy")
    endpoint_policy = stack.sagemaker_role.created.node.find_child("DefaultPolicy")
    for resource, reason in (
        (f"arn:<AWS::Partition>:ecr:{region_account}:repository/{prefix}-*", PREFIX_REASON),
        (
            "*",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to SageMaker's "
            "namespace by a condition) have no resource-level permissions.",
        ),
        (
            f"arn:<AWS::Partition>:logs:{region_account}:log-group:/aws/sagemaker/*/{prefix}-*",
            "SageMaker names the log group of what runs create after it "
            "(/aws/sagemaker/Endpoints/<endpoint>, /aws/sagemaker/InferenceComponents/<ic>).",
        ),
    ):
        _ack(endpoint_policy, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
    recorder_policy = stack.recorder.function.role.node.find_child("DefaultPolicy")
    for policy in (executor_policy, scanner_policy, sweeper_policy, recorder_policy):
        _ack(
            policy,
            f"AwsSolutions-IAM5[Resource::<{log_group}.Arn>:log-stream:*]",
            "Streams are created per build and per Lambda container inside our own log group.",
        )
    for resource, reason in (
        (
            f"arn:<AWS::Partition>:logs:{region_account}:log-group:/aws/codebuild/{prefix}-*",
            "The nested builds' own log groups, which do/submit reads to report a failure.",
        ),
        (
            f"arn:<AWS::Partition>:logs:{region_account}:log-group:/aws/codebuild/{prefix}-*"
            ":log-stream:*",
            "The streams inside those log groups.",
        ),
    ):
        _ack(executor_policy, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
    for kind in ("transform-job", "ai-benchmark-job", "ai-workload-config"):
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:{region_account}:"
            f"{kind}/{prefix}-*]",
            PREFIX_REASON,
        )
    for kind in ("model", "endpoint-config", "endpoint", "inference-component"):
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:{region_account}:"
            f"{kind}/{prefix}-*]",
            PREFIX_REASON,
        )
    for kind in ("model", "endpoint-config", "endpoint", "inference-component"):
        _ack(
            sweeper_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:{region_account}:"
            f"{kind}/{prefix}-*]",
            "The sweeper deletes only what runs create, which carry the run prefix.",
        )
    for resource, reason in (
        (
            f"arn:<AWS::Partition>:logs:{region_account}:log-group:*",
            "logs:DescribeLogGroups is authorized on the account's log groups as a whole; "
            "the sweeper lists only the nested builds' (a name prefix).",
        ),
        (
            f"arn:<AWS::Partition>:logs:{region_account}:log-group:/aws/codebuild/{prefix}-*",
            "The nested builds' log groups, which the sweeper gives a retention.",
        ),
    ):
        _ack(sweeper_policy, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
    _ack(
        sweeper_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "SageMaker's and CodeBuild's list actions and cloudwatch:PutMetricData (limited to "
        "the stack's namespace by a condition) have no resource-level permissions; every "
        "delete is scoped to the run prefix.",
    )
    _ack(
        sweeper_policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:{region_account}:"
        f"project/{prefix}-*-build-*]",
        "The nested builds' projects runs create (<project>-build-<region code>), named "
        "after their project.",
    )
    _ack(
        executor_policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:{region_account}:repository/"
        f"{prefix}-*]",
        PREFIX_REASON,
    )
    _ack(
        executor_policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:*:763104351884:repository/*]",
        "Read-only pulls of AWS Deep Learning Container base images (account 763104351884), "
        "which the LMI/DJL configurations build on.",
    )
    _ack(
        executor_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken and the list actions the do-scripts call "
        "(codebuild:ListProjects, sagemaker:ListInferenceComponents and ListAiBenchmarkJobs) "
        "have no resource-level permissions.",
    )
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*"):
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Action::{action}]",
            "Read-only access to the CDK asset holding the executor's source, granted by "
            "codebuild.Source.s3 on that one bucket.",
        )
    for project in stack.executor.projects.values():
        name = _logical(project)
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{generated}:"
            f"log-group:/aws/codebuild/<{name}>:*]",
            "CodeBuild's default log group for this project, added by the CDK construct.",
        )
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:{generated}:"
            f"report-group/<{name}>-*]",
            "Test report groups of this project only, added by the CDK construct.",
        )
        _ack(
            project,
            "AwsSolutions-CB4",
            "The executor produces no build artifacts; logs go to CloudWatch. A customer "
            "managed KMS key would add cost without protecting any stored output.",
        )
    sources = _logical(stack.executor.sources)
    _ack(
        executor_policy,
        f"AwsSolutions-IAM5[Resource::<{sources}.Arn>/*]",
        "The objects of the stack's own bucket for the nested builds' sources.",
    )
    _ack(
        stack.executor.sources,
        "AwsSolutions-S1",
        "Short-lived build inputs that expire after 7 days; their uploads are already in the "
        "build logs. Server access logs would cost more than they tell.",
    )
    _ack(
        stack.publishing.policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<PublishBucket>/<PublishPrefix>*]",
        "The objects of the confidence site under PublishPrefix in the bucket PublishBucket "
        "names, which the executor replaces after each run (only when a bucket is named).",
    )
    cache = f"arn:<AWS::Partition>:ecr:{region_account}:repository/{prefix}-docker-hub/*"
    for scope in (executor_policy, stack.executor.nested):
        _ack(
            scope,
            f"AwsSolutions-IAM5[Resource::{cache}]",
            "Base images pulled through the stack's Docker Hub pull-through cache, whose "
            "repositories ECR creates as images are first pulled (<prefix>-docker-hub/<image>).",
        )
    nested = stack.executor.nested
    for resource, reason in (
        ("*", "ecr:GetAuthorizationToken has no resource-level permissions."),
        (
            f"<{sources}.Arn>/*",
            "The nested build reads the source do/submit uploaded to the stack's own bucket.",
        ),
        (
            "arn:<AWS::Partition>:ecr:*:763104351884:repository/*",
            "Read-only pulls of AWS Deep Learning Container base images, which the nested "
            "build's buildspec logs in to (in us-east-1, as the generator writes it).",
        ),
    ):
        _ack(nested, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
    for role in nested.roles:
        project = role.node.id.removesuffix("-service-role")
        _ack(
            nested,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{region_account}:log-group:"
            f"/aws/codebuild/{project}:*]",
            "The streams of this nested build's own log group.",
        )
    _ack(
        executor_policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{region_account}:log-group:"
        f"/aws/sagemaker/Endpoints/{prefix}-*]",
        "The log groups of the endpoints runs create, named after them, which the harness "
        "gives a retention after deploying.",
    )
    for owner in ("aws", "<AWS::AccountId>"):
        _ack(
            executor_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::{owner}:policy/*]",
            "Read-only (GetPolicy, GetPolicyVersion): the managed policies attached to the "
            "role SageMakerRoleArn names, the account's or AWS's, which the executor judges "
            "before it deploys with that role; which ones is known only then.",
        )
    ceiling = (
        "A permissions boundary is a ceiling, not a grant: it names whole services so that "
        "no role of the stack can ever reach beyond them; each role's own policy is scoped."
    )
    ours = f"<AWS::Region>:<AWS::AccountId>:{{}}:{prefix}-*"
    for finding in (
        "Resource::*",
        *(f"Action::{service}:*" for service in SERVICES),
        "Resource::arn:<AWS::Partition>:iam::aws:policy/*",
        "Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*",
        f"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/{prefix}-*",
        "Resource::arn:<AWS::Partition>:lambda:" + ours.format("function"),
        "Resource::arn:<AWS::Partition>:states:" + ours.format("stateMachine"),
        "Resource::arn:<AWS::Partition>:states:" + ours.format("execution"),
    ):
        _ack(stack.node.find_child("PermissionsBoundary"), f"AwsSolutions-IAM5[{finding}]", ceiling)
    _ack(
        orchestrator_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray tracing and CloudWatch Logs delivery actions have no resource-level permissions.",
    )
    _ack(
        orchestrator_policy,
        f"AwsSolutions-IAM5[Resource::<{_logical(stack.recorder.function)}.Arn>:*]",
        "The recorder Lambda's versions and aliases, as the CDK's LambdaInvoke task grants "
        "lambda:InvokeFunction on the one function.",
    )
    for function in (stack.scanner.function, stack.sweeper.function, stack.recorder.function):
        _ack(
            function,
            "AwsSolutions-L1",
            "Python 3.12 (supported by Lambda into 2028) is the runtime the Lambdas' "
            "dependencies are installed for (assets.LAMBDA_PYTHON); raise both together.",
        )

"""Checks made before a stage starts, so it fails with a message a person can act on."""

import os
import shlex
import shutil
from collections.abc import Callable, Mapping

from mlcc_ci import generator, modeltoken
from mlcc_ci.catalog import REGISTERED_PROJECT, Entry
from mlcc_ci.profiles import Profile, StageSpec


def _generator(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    command = profile.stage_specs(entry).get("generate")
    if not command or not command.command:
        return None
    try:
        program = shlex.split(command.command)[0]
    except (ValueError, IndexError):
        return f"cannot read the generate command: {command.command!r}"
    if program == profile.generator.command:
        problem = generator.problem_with(profile.generator, env)
        return f"{problem} (or run with --profile example)" if problem else None
    if "$" in program or "/" in program:
        return None  # a path or a variable: the shell will say if it is wrong
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        return f"'{program}' (the generate command) is not on PATH"
    return None


def _docker(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    if entry.data.get("buildStrategy") != "docker-in-docker":
        return None
    has_cli = shutil.which("docker", path=env.get("PATH", os.defpath)) is not None
    has_engine = bool(env.get("DOCKER_HOST")) or os.path.exists("/var/run/docker.sock")
    if has_cli and has_engine:
        return None
    missing = "the docker CLI" if not has_cli else "a Docker engine (no DOCKER_HOST, no socket)"
    return (
        f"docker-in-docker builds need {missing}; run where Docker is available "
        "(in AWS the executor project runs privileged for this strategy)"
    )


# The stack says whether ROLE_ARN is its own role or one its SageMakerRoleArn named.
ROLE_GIVEN_ENV = "MLCC_CI_ROLE_GIVEN"


def _role_arn(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    if env.get("ROLE_ARN"):
        return _given_role(env["ROLE_ARN"], env) if env.get(ROLE_GIVEN_ENV) == "1" else None
    return (
        "ROLE_ARN is not set: deploy needs a SageMaker execution role (in AWS the stack gives "
        "the executor its own, or the one SageMakerRoleArn names) — export ROLE_ARN"
    )


def _given_role(arn_text: str, env: Mapping[str, str]) -> str | None:
    """A role the stack was given (SageMakerRoleArn) is read and judged before anything is
    deployed with it, as `mlcc-ci stack check-role` judges it: a role that could do more
    than the endpoints need (the generator's bootstrap role has SageMaker on `*`) would let
    every image the loop builds act on every endpoint in the account."""
    from mlcc_ci import naming
    from mlcc_ci.aws import rolecheck
    from mlcc_ci.errors import MlccError

    try:
        arn = rolecheck.parse_arn(arn_text)
        role = rolecheck.read_role(rolecheck.client(env.get("AWS_REGION"), env), arn)
    except MlccError as exc:
        return f"cannot check the SageMaker role SageMakerRoleArn names: {exc}"
    found = rolecheck.judge(role, arn, env.get(naming.PREFIX_ENV) or naming.DEFAULT_PREFIX)
    if not found:
        return None
    return (
        f"the SageMaker role {arn.text} (SageMakerRoleArn) is more than the endpoints need: "
        f"{found[0]} ({len(found)} finding(s); `mlcc-ci stack check-role {arn.text}` lists "
        "them): deploy the stack without SageMakerRoleArn, or name a role that passes"
    )


def credentials_in(env: Mapping[str, str]) -> object | None:
    """The AWS credentials a stage given `env` would find (its AWS_ACCESS_KEY_ID..., its
    AWS_PROFILE and credential files, its container credentials, the instance's role), not
    those of this process's environment."""
    import botocore.session
    from botocore.configprovider import (
        BOTOCORE_DEFAUT_SESSION_VARIABLES,
        ConfigChainFactory,
        ConfigValueStore,
    )
    from botocore.credentials import ContainerProvider, EnvProvider

    session = botocore.session.Session()
    # botocore's settings (profile, credential files, metadata service) as `env` gives them
    chain = ConfigChainFactory(session=session, environ=dict(env))
    mapping = {
        name: chain.create_config_chain(
            instance_name=name,
            env_var_names=env_names,
            config_property_names=property_names,
            default=default,
            conversion_func=convert,
        )
        for name, (property_names, env_names, default, convert) in (
            BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
        )
    }
    session.register_component("config_store", ConfigValueStore(mapping=mapping))
    resolver = session.get_component("credential_provider")
    # and the providers that read the environment themselves read the stage's
    resolver.remove(EnvProvider.METHOD)
    resolver.insert_before("assume-role", EnvProvider(environ=dict(env)))
    resolver.remove(ContainerProvider.METHOD)
    resolver.insert_before("iam-role", ContainerProvider(environ=dict(env)))
    return session.get_credentials()


def _aws_credentials(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    if credentials_in(env) is not None:
        return None
    return (
        "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or run 'aws configure'"
    )


def _stack_region(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    stack = env.get("MLCC_CI_STACK_REGION")
    wanted = env.get("MLCC_DEPLOY_REGION")
    if not stack or not wanted or stack == wanted:
        return None
    return (
        f"the configuration deploys to {wanted}, but this CI stack (and the IAM it grants) is "
        f"in {stack}: register the catalog for it (mlcc-ci register --from-catalog --all "
        f"--region {stack}), or run it with a stack deployed in {wanted}"
    )


def _model_token(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    """The harness passes no Hugging Face token (modeltoken): a deploy that needs one, or
    that do/deploy would give one from the generator's own profile, is refused."""
    return modeltoken.refusal(entry.data, env)


def _nested_build_role(entry: Entry, profile: Profile, env: Mapping[str, str]) -> str | None:
    """In AWS the stack, not do/submit, makes the nested build's role: one per catalog entry
    it was deployed with. A configuration it does not know cannot build there."""
    from mlcc_ci import naming
    from mlcc_ci.endpoint import client

    prefix = env.get(naming.PREFIX_ENV)
    if not prefix or entry.data.get("buildStrategy") != "codebuild-submit":
        return None
    try:
        project = naming.run_project_name(entry.config, prefix)
        region = env.get("MLCC_DEPLOY_REGION") or env.get("AWS_REGION")
        # a catalog entry is renamed in its file; a registered project, by registering again
        registered = entry.path == REGISTERED_PROJECT
        role = naming.nested_build_role(
            project, profile.project_config, region, registered=registered
        )
    except ValueError as exc:
        return str(exc)
    if role is None:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    iam = client("iam", env.get("AWS_REGION", "us-east-1"), env)
    try:
        iam.get_role(RoleName=role)
    except iam.exceptions.NoSuchEntityException:
        return (
            f"the stack has no nested build role {role}: it makes one for each configuration "
            "of the catalog it was deployed with; add this configuration to that catalog and "
            "deploy the stack again"
        )
    except (ClientError, BotoCoreError) as exc:
        return f"could not look up the nested build role {role}: {exc}"
    return None


CHECKS: dict[str, Callable[[Entry, Profile, Mapping[str, str]], str | None]] = {
    "generator": _generator,
    "docker": _docker,
    "role-arn": _role_arn,
    "aws-credentials": _aws_credentials,
    "stack-region": _stack_region,
    "model-token": _model_token,
    "nested-build-role": _nested_build_role,
}


def preflight(
    stage: str,
    entry: Entry,
    profile: Profile,
    specs: Mapping[str, StageSpec],
    env: Mapping[str, str],
) -> str | None:
    spec = specs.get(stage)
    for name in spec.checks if spec else ():
        problem = CHECKS[name](entry, profile, env)
        if problem:
            return problem
    return None

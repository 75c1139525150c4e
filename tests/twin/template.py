"""The synthesized template, read as CloudFormation would deploy it into the simulated account:
intrinsic functions resolved with the account's names, and the resources a run meets
(tables, bucket, repository, topic, log group, roles, state machine) created from their
own properties."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.twin.hosting import ACCOUNT

REGION = "us-east-1"
NO_VALUE = object()  # what Fn::If gives for AWS::NoValue: the property is left out
STACK = "mlcc-ci-harness"
NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::Rule": "Name",
}
_ARN = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
    "AWS::S3::Bucket": "arn:aws:s3:::{n}",
    "AWS::CodeBuild::Project": "arn:aws:codebuild:{r}:{a}:project/{n}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}:*",
    "AWS::ECR::Repository": "arn:aws:ecr:{r}:{a}:repository/{n}",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
}
# Ref gives the ARN for these; the name for the rest.
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"}


@dataclass
class Template:
    doc: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    assembly: Path | None = None

    @classmethod
    def load(cls, assembly: Path, **parameters: str) -> "Template":
        doc = json.loads((assembly / f"{STACK}.template.json").read_text())
        return cls(doc, parameters, assembly)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.doc["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """The resources of `kind` CloudFormation would create (their Condition holds)."""
        return {
            k: v
            for k, v in self.resources.items()
            if v["Type"] == kind and ("Condition" not in v or self.condition(v["Condition"]))
        }

    def name(self, logical: str) -> str:
        """The physical name CloudFormation gives (or the template names)."""
        resource = self.resources[logical]
        prop = NAME_PROPERTY.get(resource["Type"])
        given = resource.get("Properties", {}).get(prop) if prop else None
        if given is not None:
            return str(self.resolve(given))
        return f"{STACK.lower()}-{logical.lower()}-twin"[:63]

    def arn(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        return _ARN[kind].format(r=REGION, a=ACCOUNT, n=self.name(logical))

    def ref(self, target: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK,
        }
        if target in pseudo:
            return pseudo[target]
        if target in self.doc.get("Parameters", {}):
            default = self.doc["Parameters"][target].get("Default", "")
            return self.parameters.get(target, default)
        kind = self.resources[target]["Type"]
        return self.arn(target) if kind in _REF_IS_ARN else self.name(target)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.doc["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            resolved = [self.resolve(v) for v in value if v != {"Ref": "AWS::NoValue"}]
            return [v for v in resolved if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute != "Arn":
                    raise NotImplementedError(f"Fn::GetAtt {logical}.{attribute}")
                return self.arn(logical)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def sub(m: re.Match[str]) -> str:
                    token = m.group(1)
                    if token in names:
                        return str(names[token])
                    if "." in token:
                        return self.arn(token.split(".")[0])
                    return str(self.ref(token))

                return re.sub(r"\$\{([^}]+)\}", sub, text)
            if key == "Fn::If":
                chosen = arg[1] if self.condition(arg[0]) else arg[2]
                return NO_VALUE if chosen == {"Ref": "AWS::NoValue"} else self.resolve(chosen)
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
        resolved = {k: self.resolve(v) for k, v in value.items() if v != {"Ref": "AWS::NoValue"}}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def properties(self, logical: str) -> dict[str, Any]:
        return dict(self.resolve(self.resources[logical].get("Properties", {})))

    # -- what the executor project is made of ---------------------------------------------

    def project(self, name: str) -> tuple[str, dict[str, Any]]:
        """(logical id, resolved properties) of the CodeBuild project called `name`."""
        for logical in self.of_type("AWS::CodeBuild::Project"):
            if self.name(logical) == name:
                return logical, self.properties(logical)
        raise KeyError(name)

    def asset_dir(self, location: str) -> Path:
        """The folder of the asset the S3 location `bucket/<hash>.zip` ships."""
        assert self.assembly is not None
        key = location.rsplit("/", 1)[-1]
        manifest = json.loads((self.assembly / f"{STACK}.assets.json").read_text())
        source = manifest["files"][key.removesuffix(".zip")]["source"]
        return self.assembly / source["path"]

    # -- deploy into the simulated account ------------------------------------------------

    def provision(self, clients: Mapping[str, Any]) -> None:
        """Create what the runs meet, as CloudFormation would from these properties."""
        for logical in self.of_type("AWS::DynamoDB::Table"):
            p = self.properties(logical)
            args = {
                k: p[k]
                for k in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode")
                if k in p
            }
            if p.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
            clients["dynamodb"].create_table(**args)
        for logical in self.of_type("AWS::S3::Bucket"):
            clients["s3"].create_bucket(Bucket=self.name(logical))
        for logical in self.of_type("AWS::ECR::Repository"):
            p = self.properties(logical)
            clients["ecr"].create_repository(repositoryName=p["RepositoryName"])
            policy = p.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
            if policy:
                clients["ecr"].put_lifecycle_policy(
                    repositoryName=p["RepositoryName"], lifecyclePolicyText=policy
                )
        for logical in self.of_type("AWS::SNS::Topic"):
            clients["sns"].create_topic(Name=self.name(logical))
        for logical in self.of_type("AWS::Logs::LogGroup"):
            clients["logs"].create_log_group(logGroupName=self.name(logical))
            days = self.properties(logical).get("RetentionInDays")
            if days:
                clients["logs"].put_retention_policy(
                    logGroupName=self.name(logical), retentionInDays=int(days)
                )
        for logical in self.of_type("AWS::IAM::Role"):
            p = self.properties(logical)
            clients["iam"].create_role(
                RoleName=self.name(logical),
                AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
            )
        for logical in self.of_type("AWS::IAM::Policy"):
            p = self.properties(logical)
            for role in p.get("Roles", []):
                clients["iam"].put_role_policy(
                    RoleName=role,
                    PolicyName=p["PolicyName"],
                    PolicyDocument=json.dumps(p["PolicyDocument"]),
                )
        for logical in self.of_type("AWS::StepFunctions::StateMachine"):
            p = self.properties(logical)
            clients["stepfunctions"].create_state_machine(
                name=self.name(logical), definition=p["DefinitionString"], roleArn=p["RoleArn"]
            )

    def boundary_of(self, role_logical: str) -> list[dict[str, Any]] | None:
        """The statements of a role's permissions boundary (a managed policy of the
        template), or None."""
        ref = self.resources[role_logical]["Properties"].get("PermissionsBoundary")
        if ref is None:
            return None
        return list(self.properties(ref["Ref"])["PolicyDocument"]["Statement"])

    def policies_of(self, role_logical: str) -> list[dict[str, Any]]:
        """Every statement attached to a role: inline policies and AWS::IAM::Policy."""
        statements = []
        role = self.properties(role_logical)
        for policy in role.get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for logical in self.of_type(kind):
                roles = self.resources[logical]["Properties"].get("Roles", [])
                if {"Ref": role_logical} in roles:
                    statements += self.properties(logical)["PolicyDocument"]["Statement"]
        return statements

"""A request's parameters checked against the operation's input shape in botocore's model of
the service, on the server side, as AWS's request layer checks them before the service
sees them: required members, numeric ranges, lengths, enums, patterns and JSON types.

The model is the one the real clients use (botocore's loader, the latest API version it
ships, as `boto3.client` loads it), so what the AWS CLI and boto3 send legitimately passes:
they check required members, types and minimums client-side from the same model, and never
send a member the model does not have.

The refusal has the shape AWS gives (the "Coral" validation message):

    1 validation error detected: Value '0' at 'specification.computeResourceRequirements.
    numberOfAcceleratorDevicesRequired' failed to satisfy constraint: Member must have value
    greater than or equal to 1

one clause per broken constraint, joined by "; ", paths lower-camel-cased per segment, list
elements as `<list>.<1-based index>.member` (as AWS writes `tags.1.member.key`). Values are
written as the request wrote them; a member whose shape is `sensitive` has its value left out
("Value at 'x' ..."). A value of the wrong JSON type is refused first, alone, with
`SerializationException` (the request cannot be deserialized, so nothing is validated); its
message is the twin's own wording of the one AWS gives.

Choices, each with its reason:
- Unknown members are ignored, not refused. The AWS JSON protocols are forward compatible
  (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html): a service reads the
  members it knows. Clients built from this model never send any other.
- Patterns are Java regular expressions matched against the whole value (Java's
  `Matcher.matches()`: SageMaker refuses 'a_b' for `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`). One
  that Python cannot compile the same way (`\\p{L}` classes, surrogate pairs) is skipped:
  better to miss a refusal than to refuse what AWS accepts.
- Only the services below, whose requests the twin reads as JSON (`X-Amz-Target`). Left
  out: DynamoDB, whose own validation speaks differently ("One or more parameter values were
  invalid: ...", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
  Programming.Errors.html) and which moto already validates in DynamoDB's words; ECR, whose
  constraint message has its own shape ("Invalid parameter at 'repositoryName' failed to
  satisfy constraint: 'must satisfy regular expression ...'"); Secrets Manager, whose
  documented errors for bad input are InvalidParameterException and InvalidRequestException
  with messages of its own; Lambda, a REST-JSON service the twin does not read as JSON.
"""

import functools
import re
from dataclasses import dataclass
from typing import Any

# signing name -> (botocore's name for the service, the error code its validation gives,
# where that is documented)
SERVICES: dict[str, tuple[str, str, str]] = {
    # "ValidationException ... The input fails to satisfy the constraints specified by an
    # AWS service. HTTP Status Code: 400"
    "sagemaker": (
        "sagemaker",
        "ValidationException",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html",
    ),
    # Step Functions models ValidationException on its operations ("The input does not
    # satisfy the constraints specified by an Amazon Web Services service.")
    "states": (
        "stepfunctions",
        "ValidationException",
        "https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html",
    ),
    "events": (
        "events",
        "ValidationException",
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html",
    ),
    # CloudWatch Logs answers a constraint failure with its own InvalidParameterException
    # ("A parameter is specified incorrectly."), in the same Coral message shape.
    "logs": (
        "logs",
        "InvalidParameterException",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/"
        "API_CreateLogGroup.html#API_CreateLogGroup_Errors",
    ),
    # CodeBuild's every operation models InvalidInputException ("The input value that was
    # provided is not valid."), which it gives for constraint failures.
    "codebuild": (
        "codebuild",
        "InvalidInputException",
        "https://docs.aws.amazon.com/codebuild/latest/APIReference/"
        "API_StartBuild.html#API_StartBuild_Errors",
    ),
}
SERIALIZATION = "SerializationException"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def refusal(service: str, action: str, params: Any) -> Refusal | None:
    """Why AWS would refuse this request before the service acts on it, or None."""
    if service not in SERVICES:
        return None
    name, code, _ = SERVICES[service]
    shape = _input_shape(name, action)
    if shape is None:
        return None
    try:
        errors = _Check().structure(shape, params, "")
    except _WrongType as exc:
        return Refusal(SERIALIZATION, str(exc))
    if not errors:
        return None
    count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
    return Refusal(code, f"{count}: {'; '.join(errors)}")


@functools.cache
def _model(name: str) -> Any:
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model(name, "service-2"), name)


def _input_shape(name: str, action: str) -> Any:
    model = _model(name)
    if action not in model.operation_names:
        return None
    return model.operation_model(action).input_shape


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    if re.search(r"\\u[dD][89abAB]", pattern):
        return None  # a surrogate pair: one character in Java, two in Python
    try:
        return re.compile(pattern)
    except re.error:
        return None  # \p{L} and friends: Java only


class _WrongType(Exception):
    pass


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _java(value: Any) -> str:
    """A value as Java's toString writes it (lists `[a, b]`, maps `{k=v}`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_java(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return str(value)


def _number(bound: Any) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


_JSON_KIND = {str: "STRING_VALUE", bool: "BOOLEAN_VALUE", int: "NUMBER_VALUE"}
_JAVA_TYPE = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "timestamp": "a Date",
    "blob": "a ByteBuffer",
}


def _wrong(shape: Any, value: Any) -> _WrongType:
    """A body that does not deserialize into the input shape: SerializationException, as
    the AWS JSON protocols' malformed-request tests expect for a value of the wrong type
    (https://smithy.io/2.0/additional-specs/http-protocol-compliance-tests.html)."""
    if isinstance(value, dict):
        return _WrongType("Start of structure or map found where not expected.")
    if isinstance(value, list):
        return _WrongType("Start of list found where not expected.")
    kind = _JSON_KIND.get(type(value), "NUMBER_VALUE")
    target = _JAVA_TYPE.get(shape.type_name, f"a {shape.type_name}")
    return _WrongType(f"{kind} can not be converted to {target}")


class _Check:
    """Every broken constraint of one request, in the model's member order."""

    def structure(self, shape: Any, value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            raise _wrong(shape, value)
        errors: list[str] = []
        # a member documented "Required: Yes" (CreateEndpoint's EndpointName and
        # EndpointConfigName: https://docs.aws.amazon.com/sagemaker/latest/APIReference/
        # API_CreateEndpoint.html#API_CreateEndpoint_RequestSyntax)
        required = set(shape.required_members)
        for member, member_shape in shape.members.items():
            where = f"{path}.{_camel(member)}" if path else _camel(member)
            if value.get(member) is None:
                if member in required:
                    errors.append(
                        f"Value null at '{where}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
                continue
            errors += self.value(member_shape, value[member], where)
        return errors

    def value(self, shape: Any, value: Any, path: str) -> list[str]:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, value, path)
        self._type(shape, value)
        broken = self._constraints(shape, value)
        written = "Value" if shape.metadata.get("sensitive") else f"Value '{_java(value)}'"
        errors = [f"{written} at '{path}' failed to satisfy constraint: {b}" for b in broken]
        if kind == "list":
            for index, item in enumerate(value, start=1):
                if item is not None:
                    errors += self.value(shape.member, item, f"{path}.{index}.member")
        elif kind == "map":
            errors += self._map(shape, value, path, written)
        return errors

    def _map(self, shape: Any, value: dict[str, Any], path: str, written: str) -> list[str]:
        """Keys and scalar values as AWS words them for a map (Lambda's environment:
        "Map keys must satisfy constraint: [Member must ...]"); structures inside by key."""
        errors: list[str] = []
        keys: list[str] = []
        values: list[str] = []
        for key, item in value.items():
            self._type(shape.key, key)
            keys += [b for b in self._constraints(shape.key, key) if b not in keys]
            if item is None:
                continue
            if shape.value.type_name in ("structure", "list", "map"):
                errors += self.value(shape.value, item, f"{path}.{key}")
            else:
                self._type(shape.value, item)
                values += [b for b in self._constraints(shape.value, item) if b not in values]
        for what, broken in (("keys", keys), ("value", values)):
            if broken:
                errors.append(
                    f"{written} at '{path}' failed to satisfy constraint: Map {what} must "
                    f"satisfy constraint: [{', '.join(broken)}]"
                )
        return errors

    @staticmethod
    def _type(shape: Any, value: Any) -> None:
        kind = shape.type_name
        ok = {
            "string": isinstance(value, str),
            "blob": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "long": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "double": isinstance(value, int | float) and not isinstance(value, bool),
            # epoch seconds on the wire; an ISO 8601 string is read too
            "timestamp": isinstance(value, int | float | str) and not isinstance(value, bool),
            "list": isinstance(value, list),
            "map": isinstance(value, dict),
        }.get(kind, True)
        if not ok:
            raise _wrong(shape, value)

    # Each constraint is a shape's documented "Length Constraints", "Pattern", "Valid
    # Values" or "Valid Range", and breaking one is the ValidationError of the Common
    # Errors page (https://docs.aws.amazon.com/sagemaker/latest/APIReference/
    # CommonErrors.html). The pages of the shapes the tests use:
    # - enum: ProductionVariant.InstanceType, "Valid Values: ml.t2.medium | ..."
    #   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html
    # - length and pattern: CreateEndpoint.EndpointName, "Maximum length of 63. Pattern:
    #   ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    #   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html
    # - range: NumberOfAcceleratorDevicesRequired "Minimum value of 1", MinMemoryRequiredInMb
    #   "Minimum value of 128" https://docs.aws.amazon.com/sagemaker/latest/APIReference/
    #   API_InferenceComponentComputeResourceRequirements.html
    # - map keys: ContainerDefinition.Environment, "Key Pattern: [a-zA-Z_][a-zA-Z0-9_]*"
    #   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html
    @staticmethod
    def _constraints(shape: Any, value: Any) -> list[str]:
        """The constraint clauses `value` breaks, in the order AWS's validator checks
        them: enum, length, pattern, range."""
        meta, kind, broken = shape.metadata, shape.type_name, []
        if kind == "string" and shape.enum and value not in shape.enum:
            broken.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if kind in ("string", "list", "map"):
            if "min" in meta and len(value) < meta["min"]:
                broken.append(
                    f"Member must have length greater than or equal to {_number(meta['min'])}"
                )
            if "max" in meta and len(value) > meta["max"]:
                broken.append(
                    f"Member must have length less than or equal to {_number(meta['max'])}"
                )
        if kind == "string" and meta.get("pattern"):
            compiled = _pattern(meta["pattern"])
            if compiled is not None and not compiled.fullmatch(value):
                broken.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if kind in ("integer", "long", "float", "double"):
            if "min" in meta and value < meta["min"]:
                broken.append(
                    f"Member must have value greater than or equal to {_number(meta['min'])}"
                )
            if "max" in meta and value > meta["max"]:
                broken.append(
                    f"Member must have value less than or equal to {_number(meta['max'])}"
                )
        return broken

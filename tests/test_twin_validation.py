"""The simulated account refuses, on the server side, what AWS's request validation refuses
(tests/twin/validation.py): the clients here skip their own checks
(`parameter_validation=False`), so only the twin can say no."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.twin.validation import refusal

pytestmark = pytest.mark.functional
ENDPOINT_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def unchecked(service: str):
    """A client that sends whatever it is given, as a hand-written request would."""
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    return boto3.client(service, region_name="us-east-1", config=config)


def refused(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Code"], error["Message"]


def test_a_missing_required_member_is_refused_as_null(twin):
    assert refused(unchecked("sagemaker").create_endpoint) == (
        "ValidationException",
        "2 validation errors detected: Value null at 'endpointName' failed to satisfy "
        "constraint: Member must not be null; Value null at 'endpointConfigName' failed to "
        "satisfy constraint: Member must not be null",
    )
    assert [(c.action, c.error) for c in twin.calls] == [("CreateEndpoint", "ValidationException")]
    assert twin.hosting.alive() == {k: [] for k in twin.hosting.alive()}


def test_numbers_under_their_minimum_are_refused_before_hosting_sees_them(twin):
    code, message = refused(
        unchecked("sagemaker").create_inference_component,
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "m",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 0,
                "MinMemoryRequiredInMb": 64,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    assert code == "ValidationException"
    # without the hook, hosting would answer that endpoint 'ep' does not exist
    assert message == (
        "2 validation errors detected: Value '0' at "
        "'specification.computeResourceRequirements.numberOfAcceleratorDevicesRequired' failed "
        "to satisfy constraint: Member must have value greater than or equal to 1; Value '64' "
        "at 'specification.computeResourceRequirements.minMemoryRequiredInMb' failed to "
        "satisfy constraint: Member must have value greater than or equal to 128"
    )


def test_an_instance_type_that_does_not_exist_is_refused_with_the_enum_set(twin):
    sagemaker = unchecked("sagemaker")
    code, message = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.99xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    types = sagemaker.meta.service_model.shape_for("ProductionVariantInstanceType").enum
    assert "ml.m5.large" in types and "ml.g5.12xlarge" in types
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value 'ml.g5.99xlarge' at "
        "'productionVariants.1.member.instanceType' failed to satisfy constraint: Member must "
        f"satisfy enum value set: [{', '.join(types)}]"
    )
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_a_name_too_long_breaks_its_length_and_its_pattern(twin):
    name = "e" * 64
    assert refused(
        unchecked("sagemaker").create_endpoint, EndpointName=name, EndpointConfigName="c"
    ) == (
        "ValidationException",
        f"2 validation errors detected: Value '{name}' at 'endpointName' failed to satisfy "
        "constraint: Member must have length less than or equal to 63; Value "
        f"'{name}' at 'endpointName' failed to satisfy constraint: Member must satisfy regular "
        f"expression pattern: {ENDPOINT_PATTERN}",
    )
    # 63 characters pass validation: the service then says the endpoint does not exist
    _, message = refused(unchecked("sagemaker").describe_endpoint, EndpointName="e" * 63)
    assert "validation error" not in message


def test_a_pattern_is_matched_against_the_whole_value(twin):
    assert refused(unchecked("sagemaker").describe_endpoint, EndpointName="my_endpoint") == (
        "ValidationException",
        "1 validation error detected: Value 'my_endpoint' at 'endpointName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {ENDPOINT_PATTERN}",
    )


def test_a_value_of_the_wrong_type_cannot_be_read(twin):
    assert refused(
        unchecked("sagemaker").create_endpoint_config,
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": "1",
            }
        ],
    ) == ("SerializationException", "STRING_VALUE can not be converted to an Integer")


def test_each_service_refuses_with_its_own_code(twin):
    assert refused(unchecked("codebuild").batch_get_builds, ids=[]) == (
        "InvalidInputException",
        "1 validation error detected: Value '[]' at 'ids' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    )
    assert refused(unchecked("logs").create_log_group, logGroupName="img:latest") == (
        "InvalidParameterException",
        "1 validation error detected: Value 'img:latest' at 'logGroupName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
    )
    assert refused(unchecked("events").put_rule, Name="qa/rule") == (
        "ValidationException",
        "1 validation error detected: Value 'qa/rule' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
    )
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
    assert refused(
        unchecked("stepfunctions").start_execution, stateMachineArn=arn, name="n" * 81
    ) == (
        "ValidationException",
        f"1 validation error detected: Value '{'n' * 81}' at 'name' failed to satisfy "
        "constraint: Member must have length less than or equal to 80",
    )


def test_map_keys_are_checked_as_aws_words_them(twin):
    code, message = refused(
        unchecked("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "img", "Environment": {"1BAD": "v"}},
    )
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value '{1BAD=v}' at 'primaryContainer.environment' "
        "failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
        "regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]",
    )


def test_valid_requests_pass_to_the_service(twin):
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")  # validates client-side
    sagemaker.create_endpoint_config(
        EndpointConfigName="mlcc-ci-valid",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcc-ci-sagemaker",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        Tags=[{"Key": "Owner name", "Value": "équipe ML"}],  # \p{L} patterns are skipped
    )
    names = [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
    assert names == ["mlcc-ci-valid"]
    assert [(c.action, c.status) for c in twin.calls] == [
        ("CreateEndpointConfig", 200),
        ("ListEndpointConfigs", 200),
    ]


def test_what_is_not_validated_is_left_to_the_service():
    # unknown members are ignored (the JSON protocols are forward compatible)
    assert refusal("sagemaker", "ListEndpoints", {"NotAMember": 1}) is None
    # DynamoDB validates in its own words; moto answers for it
    assert refusal("dynamodb", "CreateTable", {}) is None
    # an operation the model does not have is the service's to refuse
    assert refusal("sagemaker", "NoSuchOperation", {}) is None
    assert refusal("sagemaker", "DescribeEndpoint", {"EndpointName": "ok"}) is None

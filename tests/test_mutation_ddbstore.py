"""The DynamoDB store (mlcc_ci/stores/dynamodb.py) against a recording client: the requests
it makes (expressions, conditions, names and values, pages, the tables it creates), how it
retries throttling, and what it says for each error. Written for make mutation (issue 32 item
2): every mutant of the module runs these in milliseconds. What the requests mean to DynamoDB
is tests/test_store_contract.py's, under moto; the few moto tests here check the expressions
the recording tests pin down. (No test name here says "dynamodb": the mutation run deselects
those with -k.)"""

from collections.abc import Iterator, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    InvalidProxiesConfigError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as NoConnection

from mlcc_ci.constants import STATUS_INDEX
from mlcc_ci.errors import ConflictError, NotProvisioned, StoreError
from mlcc_ci.models import Record, Run
from mlcc_ci.resultparts import StageResult
from mlcc_ci.stores import dynamodb
from mlcc_ci.stores.dynamodb import DynamoStore, _decimals, _from_dynamodb
from tests.stores import dynamo_store, registration

T0 = "2026-01-01T00:00:00Z"
OK = {"ResponseMetadata": {"HTTPHeaders": {"x-amzn-requestid": "r1"}}}
SER = TypeSerializer()
DE = TypeDeserializer()
OWNED = sorted(f.name for f in fields(Record) if f.name != "configId")


def answer(**values: Any) -> dict[str, Any]:
    return {**OK, **values}


def client_error(code: str | None, message: str | None = None) -> ClientError:
    error: dict[str, str] = {}
    if code is not None:
        error["Code"] = code
    if message is not None:
        error["Message"] = message
    return ClientError({"Error": error} if error else {}, "Operation")


class Client:
    """A DynamoDB client that records each request and gives the next scripted answer (a
    response, or an exception to raise); with none left, an empty reply from DynamoDB."""

    def __init__(self, *answers: Any, endpoint: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = list(answers)
        self.meta = SimpleNamespace(endpoint_url=endpoint)
        self.waited: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            reply = self.answers.pop(0) if self.answers else dict(OK)
            if isinstance(reply, BaseException):
                raise reply
            return reply

        return call

    def get_waiter(self, name: str) -> Any:
        return SimpleNamespace(wait=lambda **kwargs: self.waited.append((name, kwargs)))


def store(*answers: Any, endpoint: str | None = None, **kwargs: Any) -> DynamoStore:
    kwargs.setdefault("sleep", lambda seconds: None)
    return DynamoStore(
        Client(*answers, endpoint=endpoint), table="T", runs_table="R", region="eu-west-1", **kwargs
    )


def item(**values: Any) -> dict[str, Any]:
    return {k: SER.serialize(_decimals(v)) for k, v in values.items()}


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: DE.deserialize(v) for k, v in values.items()}


def stored(n: int = 1, **values: Any) -> dict[str, Any]:
    """A record's item as DynamoDB gives it back."""
    return item(**{**Record.registered(registration(n), T0).to_item(), **values})


def run_of(n: int, day: int, **kw: Any) -> Run:
    values: dict[str, Any] = dict(
        configId=registration(n).configId,
        startedAt=f"2026-01-0{day}T00:00:00.000Z",
        runId=f"r{n}-{day}",
        finishedAt=f"2026-01-0{day}T01:00:00Z",
        status="pass",
        durationSeconds=3.5,
        deploymentConfig=f"cfg-{n}",
    )
    values.update(kw)
    return Run(**values)


# -- a new store ---------------------------------------------------------------------------


def test_a_new_store_names_itself_and_has_made_no_request():
    made = store()
    assert made.description == "dynamodb://T?region=eu-west-1"
    assert (made.table, made.runs_table, made.region) == ("T", "R", "eu-west-1")
    assert made.requests == 0 and made.page_size is None and made.unreadable == {}
    assert made.client.calls == []


# -- _from_dynamodb: a reply that is not DynamoDB's ----------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amzn-requestid": "r1"},
        {"content-type": "application/x-amz-json-1.0"},
        {"x-amzn-requestid": "r1", "content-type": "text/html"},
    ],
)
def test_a_reply_with_a_request_id_or_amazons_json_type_is_taken(headers):
    assert _from_dynamodb({"ResponseMetadata": {"HTTPHeaders": headers}}, "get_item", None) is None


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        ({"ResponseMetadata": {"HTTPHeaders": {"content-type": "text/html"}}}, "text/html"),
        ({"ResponseMetadata": {"HTTPHeaders": {"content-type": "json"}}}, "json"),
        ({"ResponseMetadata": {"HTTPHeaders": {"server": "nginx"}}}, "no content type"),
        ({"ResponseMetadata": {}}, "no content type"),
        ({}, "no content type"),
    ],
)
def test_a_reply_that_is_not_amazons_is_refused_naming_the_endpoint(response, kind):
    client = SimpleNamespace(meta=SimpleNamespace(endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(StoreError) as raised:
        _from_dynamodb(response, "scan", client)
    assert str(raised.value) == (
        f"http://127.0.0.1:9 answered scan with {kind}, not DynamoDB's reply: "
        "is the endpoint URL right?"
    )


def test_a_client_without_an_endpoint_is_called_the_endpoint():
    with pytest.raises(StoreError) as raised:
        _from_dynamodb({}, "scan", object())
    assert str(raised.value).startswith("the endpoint answered scan with no content type,")


def test_a_store_call_refuses_a_web_page():
    page = {"ResponseMetadata": {"HTTPHeaders": {"content-type": "text/html"}}}
    made = store(page, endpoint="http://127.0.0.1:9")
    with pytest.raises(
        StoreError, match=r"^http://127\.0\.0\.1:9 answered get_item with text/html"
    ):
        made.get("a")
    assert made.requests == 1


# -- _call: errors and retries -------------------------------------------------------------


def test_a_call_passes_its_arguments_and_gives_the_reply():
    reply = answer(Item=stored())
    made = store(reply)
    assert made._call("get_item", TableName="X", Key={"k": 1}) is reply
    assert made.client.calls == [("get_item", {"TableName": "X", "Key": {"k": 1}})]
    made._call("describe_table")
    assert made.requests == 2


@pytest.mark.parametrize(("kwargs", "table"), [({}, "T"), ({"TableName": "R"}, "R")])
def test_a_missing_table_is_not_provisioned_naming_the_table_and_region(kwargs, table):
    made = store(client_error("ResourceNotFoundException", "gone"))
    with pytest.raises(NotProvisioned) as raised:
        made._call("describe_table", **kwargs)
    assert str(raised.value) == (
        f"CI infrastructure not provisioned: table {table} not found in eu-west-1. "
        "Deploy the stack (cd cdk && npx cdk deploy, see README 'Deploy to AWS'), "
        "or for a local endpoint run: mlcc-ci store create-tables --store URL"
    )
    assert made.requests == 1


def test_a_lost_condition_is_a_conflict_naming_the_table():
    made = store(client_error("ConditionalCheckFailedException"))
    with pytest.raises(ConflictError) as raised:
        made._call("put_item", TableName="R")
    assert str(raised.value) == "conditional write to R lost"
    assert made.requests == 1


@pytest.mark.parametrize("code", sorted(dynamodb.RETRYABLE))
def test_throttling_is_retried_after_a_growing_wait(code, monkeypatch):
    draws = iter([0.0, 0.5, 0.99])
    monkeypatch.setattr(dynamodb.random, "random", lambda: next(draws))
    waits: list[float] = []
    reply = answer(Items=[])
    made = store(
        client_error(code), client_error(code), client_error(code), reply,
        attempts=4, backoff=1.0, sleep=waits.append,
    )  # fmt: skip
    assert made._call("scan") is reply
    assert waits == pytest.approx([0.5, 2.0, 5.96])  # 1 s, 2 s, 4 s, each times 0.5 to 1.5
    assert made.requests == 4 and len(made.client.calls) == 4


def test_throttling_past_the_attempts_is_an_error_naming_them(monkeypatch):
    monkeypatch.setattr(dynamodb.random, "random", lambda: 0.5)
    waits: list[float] = []
    throttled = client_error("ThrottlingException", "slow down")
    made = store(*[throttled] * 4, answer(), attempts=3, backoff=2.0, sleep=waits.append)
    with pytest.raises(StoreError) as raised:
        made._call("query", TableName="R")
    assert str(raised.value) == (
        "DynamoDB kept throttling query on R (ThrottlingException, 3 attempts); try again later"
    )
    assert waits == [2.0, 4.0] and made.requests == 3


def test_the_default_is_six_attempts_from_a_twentieth_of_a_second(monkeypatch):
    monkeypatch.setattr(dynamodb.random, "random", lambda: 0.5)
    waits: list[float] = []
    made = DynamoStore(
        Client(*[client_error("InternalServerError")] * 7),
        table="T",
        runs_table="R",
        region="eu-west-1",
        sleep=waits.append,
    )
    with pytest.raises(StoreError, match=r"\(InternalServerError, 6 attempts\)"):
        made._call("scan")
    assert waits == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8]) and made.requests == 6


def test_the_default_wait_is_a_real_sleep():
    made = DynamoStore(Client(), table="T", runs_table="R", region="eu-west-1")
    assert made.sleep is dynamodb.time.sleep


def test_no_attempts_is_no_request():
    made = store(attempts=0)
    with pytest.raises(AssertionError, match=r"^unreachable$"):
        made._call("scan")
    assert made.client.calls == []


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (client_error("ValidationException", "bad key"), "ValidationException: bad key"),
        (client_error("ValidationException"), "ValidationException: "),
        (client_error(None, "no code"), ": no code"),
        (ClientError({}, "PutItem"), ": "),
    ],
)
def test_any_other_refusal_is_said_with_its_code_and_message(error, said):
    made = store(error, answer())
    with pytest.raises(StoreError) as raised:
        made._call("put_item", TableName="R")
    assert str(raised.value) == f"DynamoDB put_item on R failed: {said}"
    assert made.requests == 1


@pytest.mark.parametrize(
    "error", [NoCredentialsError(), PartialCredentialsError(provider="env", cred_var="secret")]
)
def test_no_credentials_says_how_to_give_them(error):
    made = store(error, answer())
    with pytest.raises(StoreError) as raised:
        made._call("scan")
    assert str(raised.value) == (
        "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run 'aws configure'"
    )
    assert made.requests == 1


@pytest.mark.parametrize(
    "error",
    [
        NoConnection(error="refused"),
        EndpointConnectionError(endpoint_url="http://u:pw@127.0.0.1:9"),
        HTTPClientError(error="reset"),
        InvalidProxiesConfigError(),
    ],
)
def test_a_connection_error_names_the_endpoint_without_its_password(error):
    made = store(error, answer(), endpoint="http://u:pw@127.0.0.1:9")
    with pytest.raises(StoreError) as raised:
        made._call("scan")
    shown = str(error).replace("u:pw@", "u:***@")
    assert str(raised.value) == f"cannot reach DynamoDB at http://u:***@127.0.0.1:9: {shown}"
    assert "pw@" not in str(raised.value) and made.requests == 1


@pytest.mark.parametrize("meta", [None, SimpleNamespace(), SimpleNamespace(endpoint_url=None)])
def test_a_connection_error_without_an_endpoint_says_so_plainly(meta):
    made = store(NoConnection(error="refused"))
    made.client.meta = meta
    with pytest.raises(StoreError) as raised:
        made._call("scan")
    assert str(raised.value) == (
        "cannot reach DynamoDB: An HTTP Client failed to establish a connection: refused"
    )


def test_a_connection_error_of_a_client_without_meta_says_so_plainly():
    def scan() -> None:
        raise NoConnection(error="refused")

    made = store()
    made.client = SimpleNamespace(scan=scan)
    with pytest.raises(StoreError) as raised:
        made._call("scan")
    assert str(raised.value) == (
        "cannot reach DynamoDB: An HTTP Client failed to establish a connection: refused"
    )


def test_a_bad_parameter_is_not_taken_for_a_connection_error():
    made = store(ValueError("bad parameter"))
    with pytest.raises(ValueError, match="bad parameter"):
        made._call("scan")


# -- pages ---------------------------------------------------------------------------------


def test_pages_follow_the_last_key_with_the_page_size():
    made = store(
        answer(Items=[{"n": 1}, {"n": 2}], LastEvaluatedKey={"k": "2"}),
        answer(LastEvaluatedKey={"k": "2b"}),
        answer(Items=[{"n": 3}]),
    )
    made.page_size = 2
    assert list(made._pages("scan", TableName="T")) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert made.client.calls == [
        ("scan", {"TableName": "T", "Limit": 2}),
        ("scan", {"TableName": "T", "Limit": 2, "ExclusiveStartKey": {"k": "2"}}),
        ("scan", {"TableName": "T", "Limit": 2, "ExclusiveStartKey": {"k": "2b"}}),
    ]


def test_pages_keep_a_given_limit_and_ask_none_without_a_page_size():
    made = store()
    made.page_size = 5
    assert list(made._pages("query", Limit=1)) == []
    made.page_size = None
    assert list(made._pages("query")) == []
    assert made.client.calls == [("query", {"Limit": 1}), ("query", {})]


# -- reads ---------------------------------------------------------------------------------


def test_check_describes_both_tables():
    made = store()
    made.check()
    assert made.client.calls == [
        ("describe_table", {"TableName": "T"}),
        ("describe_table", {"TableName": "R"}),
    ]


def test_get_reads_consistently_and_gives_none_for_no_item():
    made = store(answer(Item=stored(1)), answer())
    record = made.get(registration(1).configId)
    assert record == Record.registered(registration(1), T0)
    assert made.get("b") is None
    assert made.client.calls == [
        (
            "get_item",
            {
                "TableName": "T",
                "Key": item(configId=registration(1).configId),
                "ConsistentRead": True,
            },
        ),
        ("get_item", {"TableName": "T", "Key": {"configId": {"S": "b"}}, "ConsistentRead": True}),
    ]


def test_records_skip_and_name_the_items_no_one_can_read():
    made = store(
        answer(
            Items=[
                stored(1),
                item(configId="c2", configJson="{}"),  # no deploymentConfig and more
                {"configId": {"S": "c3"}, "odd": {"Q": "1"}},  # not DynamoDB's types
                {"configId": {"N": "4"}, "odd": {"Q": "1"}},
                {"odd": {"Q": "1"}},
                stored(5),
            ],
        )
    )
    assert [r.configId for r in made.records()] == [registration(n).configId for n in (1, 5)]
    assert made.unreadable["c3"] == made.unreadable["?"] == "not a DynamoDB item"
    assert (
        set(made.unreadable) == {"c2", "c3", "?"} and made.unreadable["c2"] == "no deploymentConfig"
    )
    assert made.client.calls == [("scan", {"TableName": "T"})]


def test_decode_names_a_mapping_that_is_not_an_item_by_a_question_mark():
    class Odd(Mapping):
        parts: ClassVar = {"configId": {"S": "c1"}, "odd": {"Q": "1"}}

        def __getitem__(self, key: str) -> Any:
            return self.parts[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self.parts)

        def __len__(self) -> int:
            return len(self.parts)

    made = store()
    assert made._decode(Odd()) is None  # type: ignore[arg-type]
    assert made.unreadable == {"?": "not a DynamoDB item"}


def test_raw_items_give_each_key_with_its_plain_values_or_none():
    made = store(
        answer(
            Items=[
                item(configId="c1", version=2, score=1.5),
                {"configId": {"S": "c2"}, "odd": {"Q": "1"}},
                {"version": {"N": "1"}},
            ]
        )
    )
    got = list(made.raw_items())
    assert got == [
        ("c1", {"configId": "c1", "version": 2, "score": 1.5}),
        ("c2", None),
        ("?", {"version": 1}),
    ]
    assert type(got[0][1]["version"]) is int
    assert made.client.calls == [("scan", {"TableName": "T"})]


def test_by_status_queries_the_status_index_before_a_time():
    made = store(answer(Items=[stored(1), {"configId": {"S": "c2"}}]), answer())
    assert [r.configId for r in made.by_status("pass", "2026-02-01T00:00:00Z")] == [
        registration(1).configId
    ]
    assert list(made.by_status("untested")) == []
    assert made.unreadable == {"c2": made.unreadable["c2"]}
    assert made.client.calls == [
        (
            "query",
            {
                "TableName": "T",
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#s = :s AND #t < :before",
                "ExpressionAttributeNames": {"#s": "testStatus", "#t": "lastTestTimestamp"},
                "ExpressionAttributeValues": {
                    ":s": {"S": "pass"},
                    ":before": {"S": "2026-02-01T00:00:00Z"},
                },
            },
        ),
        (
            "query",
            {
                "TableName": "T",
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "testStatus"},
                "ExpressionAttributeValues": {":s": {"S": "untested"}},
            },
        ),
    ]


def history_query(config_id: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return (
        "query",
        {
            "TableName": "R",
            "KeyConditionExpression": "configId = :c",
            "ExpressionAttributeValues": {":c": {"S": config_id}},
            "ScanIndexForward": False,
            **extra,
        },
    )


def test_history_is_newest_first_skips_unreadable_runs_and_stops_at_the_limit():
    runs = [run_of(1, 3), run_of(1, 2), run_of(1, 1)]
    page = answer(
        Items=[{"configId": {"S": "x"}}, *(item(**r.to_item()) for r in runs)],
        LastEvaluatedKey={"k": "more"},
    )
    made = store(page)
    assert made.history("c1", limit=2) == runs[:2]
    assert made.client.calls == [history_query("c1", Limit=2)]


def test_history_without_a_limit_reads_every_page():
    runs = [run_of(1, 3), run_of(1, 2), run_of(1, 1)]
    made = store(
        answer(Items=[item(**runs[0].to_item())], LastEvaluatedKey={"k": "1"}),
        answer(Items=[item(**r.to_item()) for r in runs[1:]]),
    )
    assert made.history("c1") == runs
    assert made.client.calls == [
        history_query("c1"),
        history_query("c1", ExclusiveStartKey={"k": "1"}),
    ]


def test_histories_ask_one_query_of_the_limit_per_configuration():
    made = store(answer(Items=[item(**run_of(1, 1).to_item())]), answer())
    assert made.histories(["a", "b"], 3) == {"a": [run_of(1, 1)], "b": []}
    assert made.client.calls == [history_query("a", Limit=3), history_query("b", Limit=3)]


def test_there_is_no_change_token():
    assert store().change_token() is None


# -- writes --------------------------------------------------------------------------------


def test_append_run_keeps_the_run_a_hundred_and_eighty_days_after_it_finished():
    run = run_of(1, 2, stageResults={"build": StageResult("pass", 1.25)})
    made = store()
    made.append_run(run)
    expires = datetime(2026, 1, 2, 1, tzinfo=UTC) + timedelta(days=180)
    [(operation, kwargs)] = made.client.calls
    assert operation == "put_item" and set(kwargs) == {"TableName", "Item"}
    assert kwargs["TableName"] == "R"
    assert kwargs["Item"]["expiresAt"] == {"N": str(int(expires.timestamp()))}
    assert kwargs["Item"]["durationSeconds"] == {"N": "3.5"}
    assert plain(kwargs["Item"]) == {**run.to_item(), "expiresAt": int(expires.timestamp())}


def test_forget_run_and_delete_remove_one_item_by_its_key():
    made = store()
    made.forget_run("c1", "2026-01-01T00:00:00.000Z")
    made.delete("c2")
    assert made.client.calls == [
        (
            "delete_item",
            {
                "TableName": "R",
                "Key": {"configId": {"S": "c1"}, "startedAt": {"S": "2026-01-01T00:00:00.000Z"}},
            },
        ),
        ("delete_item", {"TableName": "T", "Key": {"configId": {"S": "c2"}}}),
    ]


def test_decimals_turns_every_float_into_the_decimal_it_prints_as():
    value = {"a": [1.1, {"b": 0.1}, 2, "x"], "c": 3, "d": None}
    got = _decimals(value)
    assert got == {"a": [Decimal("1.1"), {"b": Decimal("0.1")}, 2, "x"], "c": 3, "d": None}
    assert str(got["a"][1]["b"]) == "0.1" and type(got["c"]) is int
    assert _decimals(0.5) == Decimal("0.5") and _decimals("0.5") == "0.5"


def test_create_tables_makes_both_tables_waits_for_them_and_expires_runs():
    made = store()
    made.create_tables()
    s = {"AttributeType": "S"}
    assert made.client.calls == [
        (
            "create_table",
            {
                "TableName": "T",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "configId", **s},
                    {"AttributeName": "testStatus", **s},
                    {"AttributeName": "lastTestTimestamp", **s},
                ],
                "KeySchema": [{"AttributeName": "configId", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "testStatus-lastTestTimestamp-index",
                        "KeySchema": [
                            {"AttributeName": "testStatus", "KeyType": "HASH"},
                            {"AttributeName": "lastTestTimestamp", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
        ),
        (
            "create_table",
            {
                "TableName": "R",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "configId", **s},
                    {"AttributeName": "startedAt", **s},
                ],
                "KeySchema": [
                    {"AttributeName": "configId", "KeyType": "HASH"},
                    {"AttributeName": "startedAt", "KeyType": "RANGE"},
                ],
            },
        ),
        (
            "update_time_to_live",
            {
                "TableName": "R",
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expiresAt"},
            },
        ),
    ]
    wait = {"Delay": 1, "MaxAttempts": 60}
    assert made.client.waited == [
        ("table_exists", {"TableName": "T", "WaiterConfig": wait}),
        ("table_exists", {"TableName": "R", "WaiterConfig": wait}),
    ]


# -- register ------------------------------------------------------------------------------

REGISTER_SETS = [
    "#createdAt = if_not_exists(#createdAt, :now)",
    "#previousStatus = if_not_exists(#testStatus, :untested)",
    "#testStatus = :untested",
    "#lastTestTimestamp = if_not_exists(#lastTestTimestamp, :epoch)",
    "#version = if_not_exists(#version, :zero) + :one",
]
REGISTER_CONDITION = (
    "attribute_not_exists(#configId) OR attribute_not_exists(#supportState) OR "
    "#configJson <> :configJson OR #supportState <> :supportState"
)
FIXED = {":now": T0, ":untested": "untested", ":epoch": "1970-01-01T00:00:00Z", ":zero": 0}
FIXED[":one"] = 1
ALWAYS = ["configId", "createdAt", "testStatus", "previousStatus", "lastTestTimestamp", "version"]


def test_register_sets_what_registration_owns_and_keeps_the_rest():
    reg = registration(1, supportState="unsupported", supportReason="no GPU")
    made = store(answer())
    assert made.register(reg, T0) == "created"
    [(operation, kwargs)] = made.client.calls
    assert operation == "update_item"
    written = ["configJson", "deploymentConfig", "buildStrategy", "projectName", "source"]
    written += ["supportState", "schemaVersion", "supportReason", "baseImage", "baseImageVersion"]
    assert kwargs == {
        "TableName": "T",
        "Key": {"configId": {"S": reg.configId}},
        "UpdateExpression": "SET "
        + ", ".join([f"#{k} = :{k}" for k in written] + REGISTER_SETS)
        + " REMOVE #runId, #runStartedAt",
        "ConditionExpression": REGISTER_CONDITION,
        "ExpressionAttributeNames": {
            f"#{k}": k for k in [*written, "runId", "runStartedAt", *ALWAYS]
        },
        "ExpressionAttributeValues": item(
            **{
                ":configJson": reg.configJson,
                ":deploymentConfig": "cfg-1",
                ":buildStrategy": "codebuild-submit",
                ":projectName": "p1",
                ":source": "catalog",
                ":supportState": "unsupported",
                ":schemaVersion": 1,
                ":supportReason": "no GPU",
                ":baseImage": "python:3.12-slim",
                ":baseImageVersion": "3.12-slim",
                **FIXED,
            }
        ),
        "ReturnValues": "ALL_OLD",
    }


def test_register_removes_the_optional_values_a_registration_lacks():
    reg = registration(2, baseImage="")
    made = store(answer(Attributes=stored(2)))
    assert made.register(reg, T0) == "changed"
    [(_, kwargs)] = made.client.calls
    written = ["configJson", "deploymentConfig", "buildStrategy", "projectName", "source"]
    written += ["supportState", "schemaVersion"]
    removed = ["runId", "runStartedAt", "supportReason", "baseImage", "baseImageVersion"]
    assert kwargs["UpdateExpression"] == (
        "SET "
        + ", ".join([f"#{k} = :{k}" for k in written] + REGISTER_SETS)
        + " REMOVE "
        + ", ".join(f"#{k}" for k in removed)
    )
    assert kwargs["ExpressionAttributeNames"] == {f"#{k}": k for k in [*written, *removed, *ALWAYS]}
    assert plain(kwargs["ExpressionAttributeValues"]) == {
        ":configJson": reg.configJson,
        ":deploymentConfig": "cfg-2",
        ":buildStrategy": "codebuild-submit",
        ":projectName": "p2",
        ":source": "catalog",
        ":supportState": "supported",
        ":schemaVersion": 1,
        **FIXED,
    }


def test_register_of_an_unchanged_entry_is_unchanged_and_a_retest_is_unconditional():
    made = store(client_error("ConditionalCheckFailedException"), answer(Attributes={}))
    assert made.register(registration(3), T0) == "unchanged"
    assert made.register(registration(3), T0, retest=True) == "created"
    first, second = (kwargs for _, kwargs in made.client.calls)
    assert first["ConditionExpression"] == REGISTER_CONDITION
    assert "ConditionExpression" not in second
    assert set(first["ExpressionAttributeNames"]) - set(second["ExpressionAttributeNames"]) == {
        "#configId"
    }
    assert {k: v for k, v in first.items() if k != "ConditionExpression"} == {
        **second,
        "ExpressionAttributeNames": first["ExpressionAttributeNames"],
    }


def test_register_refuses_an_invalid_registration_before_any_request():
    made = store()
    with pytest.raises(StoreError, match=r"^refusing to write record"):
        made.register(registration(4, source="elsewhere"), T0)
    assert made.client.calls == []


# -- replace -------------------------------------------------------------------------------


def running(version: int) -> Record:
    return replace(
        Record.registered(registration(1), T0, version=version),
        testStatus="running",
        runId="run-9",
        runStartedAt="2026-01-01T00:05:00.000Z",
    )


def update_of(kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The attributes a replace SETs (by name, plain) and those it REMOVEs."""
    names, values = kwargs["ExpressionAttributeNames"], plain(kwargs["ExpressionAttributeValues"])
    update = kwargs["UpdateExpression"]
    assert update.startswith("SET ")
    sets, _, removes = update.removeprefix("SET ").partition(" REMOVE ")
    written = {}
    for clause in sets.split(", "):
        name, value = clause.split(" = ")
        written[names[name]] = values[value]
    return written, [names[alias] for alias in removes.split(", ")] if removes else []


def alias(name: str) -> str:
    return f"#a{OWNED.index(name)}"


def test_replace_writes_the_records_attributes_and_removes_the_owned_rest():
    record = running(3)
    made = store()
    made.replace(record, expect_version=3, expect_run_id=None)
    [(operation, kwargs)] = made.client.calls
    assert operation == "update_item"
    assert set(kwargs) == {
        "TableName",
        "Key",
        "UpdateExpression",
        "ConditionExpression",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
    }
    assert kwargs["TableName"] == "T" and kwargs["Key"] == {"configId": {"S": record.configId}}
    assert kwargs["ExpressionAttributeNames"] == {
        **{f"#a{i}": k for i, k in enumerate(OWNED)},
        "#configId": "configId",
    }
    written, removed = update_of(kwargs)
    item_ = record.to_item()
    del item_["configId"]
    assert written == item_
    assert sorted(removed) == sorted(set(OWNED) - set(item_)) and "errorMessage" in removed
    assert kwargs["ConditionExpression"] == (
        f"attribute_exists(#configId) AND {alias('version')} = :expect"
    )
    assert plain(kwargs["ExpressionAttributeValues"])[":expect"] == 3


def test_replace_of_another_tools_record_expects_no_version_and_can_expect_a_run():
    made = store()
    made.replace(running(1), expect_version=0, expect_run_id="run-9")
    [(_, kwargs)] = made.client.calls
    assert kwargs["ConditionExpression"] == (
        f"attribute_exists(#configId) AND attribute_not_exists({alias('version')})"
        f" AND {alias('runId')} = :run"
    )
    values = plain(kwargs["ExpressionAttributeValues"])
    assert values[":run"] == "run-9" and ":expect" not in values


def test_replace_of_a_record_with_every_attribute_removes_nothing():
    from mlcc_ci.resultparts import Blocked, Cost, Failure

    stage = StageResult("fail", 2.0, "/logs/b.log", "boom", "note")
    full = replace(
        running(2),
        testStatus="fail-build",
        lastTestDuration=3,
        stageResults={"build": stage},
        errorMessage="build failed",
        lastPassTimestamp=T0,
        previousStatus="pass",
        supportReason="why",
        profile="default",
        generatorVersion="1.0.0",
        provenImage="python@sha256:" + "0" * 64,
        estimatedCost=Cost(1.5, "b"),
        recentRuns=(run_of(1, 1),),
        currentStage="build",
        currentStageStartedAt=T0,
        runStages={"build": stage},
        failure=Failure("product", "build", "r", "c"),
        blocked=Blocked("infra", "build", T0, T0),
    )
    made = store()
    made.replace(full, expect_version=2, expect_run_id=None)
    [(_, kwargs)] = made.client.calls
    written, removed = update_of(kwargs)
    assert removed == [] and " REMOVE" not in kwargs["UpdateExpression"]
    assert set(written) == set(OWNED)


@pytest.mark.parametrize(
    ("run_id", "said"), [(None, "expected version 3)"), ("run-9", "expected version 3, run run-9)")]
)
def test_a_replace_that_lost_says_which_version_and_run_it_expected(run_id, said):
    made = store(client_error("ConditionalCheckFailedException"))
    with pytest.raises(ConflictError) as raised:
        made.replace(running(3), expect_version=3, expect_run_id=run_id)
    assert (
        str(raised.value) == f"record {registration(1).configId} changed since it was read ({said}"
    )


# -- the same requests against moto ----------------------------------------------------------


@pytest.mark.functional
def test_the_expressions_hold_against_moto():
    """What the recording tests pin down is what DynamoDB (moto) takes: register's condition,
    replace's version and run conditions, the status index's query before a time."""
    with dynamo_store(backoff=0) as made:
        reg = registration(1)
        assert made.register(reg, T0) == "created"
        assert made.register(reg, T0) == "unchanged"
        first = made.get(reg.configId)
        assert first.version == 1
        claimed = replace(first, testStatus="running", runId="r1", version=2)
        with pytest.raises(ConflictError):
            made.replace(claimed, expect_version=0, expect_run_id=None)
        made.replace(claimed, expect_version=1, expect_run_id=None)
        done = replace(claimed, testStatus="pass", lastTestTimestamp=T0, runId=None, version=3)
        with pytest.raises(ConflictError):
            made.replace(done, expect_version=2, expect_run_id="r2")
        made.replace(done, expect_version=2, expect_run_id="r1")
        assert made.get(reg.configId) == done
        assert [r.configId for r in made.by_status("pass", "2026-01-01T00:00:01Z")] == [
            reg.configId
        ]
        assert list(made.by_status("pass", T0)) == []
        assert made.register(reg, T0, retest=True) == "changed"
        assert made.get(reg.configId).testStatus == "untested"

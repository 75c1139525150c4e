"""The decoding layer: items of any writer become records, or are named unreadable."""

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcc_ci import decode
from mlcc_ci.constants import NEVER_TESTED

BASE = {
    "configId": "0123456789abcdef",
    "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "p"}),
    "testStatus": "pass",
    "lastTestTimestamp": "2026-01-01T00:00:00Z",
}


def item(**changes):
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({}, "version", 0),  # another tool's: never written by mlcc-ci
        ({"version": "3"}, "version", 3),
        ({"version": Decimal(4)}, "version", 4),
        ({"version": "x"}, "version", 0),
        ({"lastTestDuration": "0.074"}, "lastTestDuration", 0),  # whole seconds, as do/ci reads
        ({"lastTestDuration": Decimal("842")}, "lastTestDuration", 842),
        ({"lastTestDuration": "soon"}, "lastTestDuration", None),
        ({"lastTestDuration": "nan"}, "lastTestDuration", None),
        ({"lastTestDuration": -3}, "lastTestDuration", None),
        ({"testStatus": None}, "testStatus", "untested"),
        # the original buildspec's adapter tests ran on the deployed endpoint
        ({"testStatus": "fail-adapter_test"}, "testStatus", "fail-deploy_test"),
        ({"createdAt": "2026-01-01T00:00:00+00:00"}, "createdAt", "2026-01-01T00:00:00Z"),
        (
            {"createdAt": "2026-01-01T01:00:00.123456+01:00"},
            "createdAt",
            "2026-01-01T00:00:00.123Z",
        ),
        ({"lastTestTimestamp": None}, "lastTestTimestamp", NEVER_TESTED),
        ({"createdAt": None}, "createdAt", NEVER_TESTED),
        ({"source": "bulk-import"}, "source", "project"),
        ({"deploymentConfig": None}, "deploymentConfig", "http-flask"),  # from the configJson
        ({"projectName": 7}, "projectName", "7"),
        ({"schemaVersion": "2"}, "schemaVersion", 2),
        ({"supportState": "maybe"}, "supportState", "supported"),
        ({"previousStatus": "weird"}, "previousStatus", None),
        (
            {"configJson": {"deploymentConfig": "http-flask", "b": Decimal("1.5")}},
            "configJson",
            '{"deploymentConfig":"http-flask","b":1.5}',
        ),
    ],
)
def test_tolerated(changes, field, expected):
    assert getattr(decode.record(item(**changes)), field) == expected


@pytest.mark.parametrize("stored", [842, Decimal("842"), Decimal("842.0"), "842.0", 841.6])
def test_a_duration_is_whole_seconds_whoever_wrote_it(stored):
    """The generator's `do/ci report` reads lastTestDuration with int(): `int('842.0')` is
    an error, so a record read (and written back) holds an int."""
    duration = decode.record(item(lastTestDuration=stored)).lastTestDuration
    assert type(duration) is int and duration == 842


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"configId": None}, "no configId"),
        ({"configJson": None}, "configJson is missing"),
        ({"configJson": "{nope"}, "configJson is not JSON"),
        ({"configJson": "[1, 2]"}, "configJson is not a JSON object"),
        ({"configJson": "{}"}, "no deploymentConfig"),
        ({"testStatus": "bogus"}, "testStatus 'bogus' is not a status"),
        ({"testStatus": "fail-banana"}, "testStatus 'fail-banana' is not a status"),
        ({"lastTestTimestamp": "zzz"}, "lastTestTimestamp 'zzz' is not a time"),
        ({"runStartedAt": "yesterday"}, "runStartedAt 'yesterday' is not a time"),
        (
            {"createdAt": "0001-01-01T00:00:00+01:00"},
            "createdAt '0001-01-01T00:00:00+01:00' is not a time",
        ),
        (
            {"lastTestTimestamp": "1900-01-01T00:00:00Z"},
            "lastTestTimestamp '1900-01-01T00:00:00Z' lies outside 1970-2200",
        ),
        ({"lastPassTimestamp": 17}, "lastPassTimestamp '17' is not a time"),
        (
            {"stageResults": {"build": {"status": "EXPLODED"}}},
            "stage status 'EXPLODED' is not pass, fail or skip",
        ),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "endpointConfig": "big"})},
            "configJson endpointConfig is a str",
        ),
        (
            {
                "configJson": json.dumps(
                    {
                        "deploymentConfig": "http-flask",
                        "endpointConfig": {"initialInstanceCount": "two"},
                    }
                )
            },
            "configJson endpointConfig.initialInstanceCount 'two' is not a number",
        ),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "owner": ["a"]})},
            "configJson owner is a list",
        ),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "pad": "x" * 70000})},
            "configJson is 68 KB, more than 64 KB",
        ),
        ({"testStatus": 3}, "testStatus '3' is not a status"),
        ({"stageResults": "{not json"}, "stageResults is a string but not JSON"),
        ({"stageResults": [1]}, "stageResults is a list, not a map"),
    ],
)
def test_unreadable(changes, reason):
    with pytest.raises(decode.Unreadable) as caught:
        decode.record(item(**changes))
    assert caught.value.reason == reason


def test_stage_results_of_every_shape():
    stages = {
        "update": {"status": "pass", "durationSeconds": Decimal("3")},
        "adapter_test": "skip",
        "build": {"status": "fail", "durationSeconds": "12", "errorSummary": "boom"},
        "generate": {"status": "pass", "durationSeconds": -1},
        "validate": {"no": "status"},
    }
    found = decode.record(item(stageResults=json.dumps(stages, default=str))).stageResults
    assert list(found) == ["generate", "build", "update", "adapter_test"]
    assert found["build"].durationSeconds == 12.0 and found["build"].errorSummary == "boom"
    assert found["generate"].durationSeconds == 0.0
    assert found["adapter_test"].status == "skip"


def test_secrets_are_masked_by_key_and_by_value():
    config = {
        "deploymentConfig": "http-flask",
        "parameters": {
            "HF_TOKEN": "hf_" + "x" * 30,
            "NOTE": "AKIAABCDEFGHIJKLMNOP",
            "REPO": "https://user:pass1234@git.example.com/r.git",
            "PAT": "github_pat_" + "A1" * 20,
            "PLAIN": "https://git.example.com/r.git",
        },
        "list": ["ghp_" + "b" * 30],
    }
    record = decode.record(item(configJson=json.dumps(config)))
    clean = json.loads(record.configJson)
    assert clean["parameters"] == {
        "HF_TOKEN": "***",
        "NOTE": "***",
        "REPO": "***",
        "PAT": "***",
        "PLAIN": "https://git.example.com/r.git",
    }
    assert clean["list"] == ["***"]
    _, _, where = decode.config_json(json.dumps(config))
    assert where == [
        "parameters.HF_TOKEN",
        "parameters.NOTE",
        "parameters.REPO",
        "parameters.PAT",
        "list[0]",
    ]


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.decimals(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(
    [
        "configId",
        "configJson",
        "testStatus",
        "version",
        "stageResults",
        "lastTestDuration",
        "deploymentConfig",
        "createdAt",
        "source",
        "runId",
        "schemaVersion",
        "other",
    ]
)


@given(st.dictionaries(keys, values, max_size=8))
def test_any_item_is_a_record_or_unreadable(raw):
    try:
        record = decode.record({**BASE, **raw})
    except decode.Unreadable as exc:
        assert exc.reason
    else:
        json.loads(record.configJson)
        assert record.version >= 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"class": "capacity", "stage": "deploy_test"}, ("capacity", "deploy_test", "", "")),
        (
            {"class": "infra", "stage": "build", "rule": "r", "capture": "c"},
            ("infra", "build", "r", "c"),
        ),
        ({"class": "gremlins", "stage": "build"}, None),  # no class of ours
        ({"stage": "build"}, None),
        ("capacity", None),
        (None, None),
    ],
)
def test_a_stored_failure_is_read_or_dropped(value, expected):
    from mlcc_ci.decode import failure

    found = failure(value)
    assert (
        None if found is None else (found.cls, found.stage, found.rule, found.capture)
    ) == expected


@pytest.mark.parametrize(
    "value",
    [
        {
            "class": "product",
            "stage": "b",
            "since": "2026-01-01T00:00:00Z",
            "retryAfter": "2026-01-01T00:00:00Z",
        },
        {
            "class": "capacity",
            "stage": "b",
            "since": "yesterday",
            "retryAfter": "2026-01-01T00:00:00Z",
        },
        {"class": "capacity", "stage": "b", "since": "2026-01-01T00:00:00Z"},
        ["capacity"],
    ],
    ids=["not-a-blocking-class", "since-not-a-time", "no-retry-after", "not-a-map"],
)
def test_a_block_no_one_can_read_blocks_nothing(value):
    from mlcc_ci.decode import blocked

    assert blocked(value) is None


def test_a_block_read_keeps_its_rounds_within_bounds():
    from mlcc_ci.decode import blocked

    base = {
        "class": "quota",
        "stage": "deploy_test",
        "since": "2026-01-01T00:00:00+00:00",
        "retryAfter": "2026-01-01T01:00:00Z",
    }
    assert blocked({**base, "rounds": 4}).rounds == 4
    assert blocked({**base, "rounds": -3}).rounds == 1
    assert blocked({**base, "rounds": 1e300}).rounds == 1
    assert blocked(base).since == "2026-01-01T00:00:00Z"  # written back the canonical way


def test_write_limits_are_the_record_schemas_max_lengths():
    assert decode._write_limits() == {"configJson": 65536, "errorMessage": 2000}
    assert decode._write_limits("$defs", "stageResult") == {"errorSummary": 600, "note": 600}
    assert decode._write_limits("$defs", "status") == {}  # no properties: no limits


def test_foreign_says_how_an_item_differs_from_what_mlcc_ci_writes():
    assert decode.foreign(item(version=3)) == []
    assert decode.foreign(BASE) == ["no version"]
    theirs = item(version=3, stageResults="{}", zTeam="x", aOwner="y")
    assert decode.foreign(theirs) == [
        "stageResults stored as a string",
        "attributes of another tool: aOwner, zTeam",
    ]


def test_secret_texts_names_each_free_text_that_holds_a_secret():
    leaky = item(
        errorMessage="token=abc123",
        supportReason="password: hunter2",
        stageResults={
            "build": {"errorSummary": "Bearer abcdefgh1234"},
            "deploy": {"errorSummary": "fine"},
            "odd": "not a map",
        },
    )
    assert decode.secret_texts(leaky) == [
        "errorMessage",
        "supportReason",
        "stageResults.build.errorSummary",
    ]
    assert decode.secret_texts(item(errorMessage="all fine", stageResults="not a map")) == []


def test_an_unreadable_item_and_its_shown_id():
    assert str(decode.Unreadable("abc", "no configId")) == "abc: no configId"
    assert decode.shown_id("x" * 70) == "x" * 64
    assert decode.shown_id("") == "?"


def test_a_stage_of_status_and_seconds_only():
    from mlcc_ci.models import StageResult

    assert decode.stage({"status": "pass", "durationSeconds": 3}) == StageResult("pass", 3.0)
    # another writer's spelling of a status is ours all the same
    assert decode.stage({"status": "PASS", "durationSeconds": 3}) == StageResult("pass", 3.0)
    assert decode.stage({"status": "pass", "durationSeconds": math.inf}) == StageResult("pass")
    assert decode.stage({"status": "fail"}) == StageResult("fail", 0.0)
    assert decode.stage("") is None


def test_a_duration_no_float_can_hold_is_no_duration_and_stops_no_reader():
    """An integer beyond the largest float raised OverflowError out of the reader."""
    from mlcc_ci.models import StageResult

    huge = {"status": "pass", "durationSeconds": 10**400}
    assert decode.stage(huge) == StageResult("pass", 0.0)
    got = decode.record(item(stageResults=json.dumps({"build": huge})))
    assert got.stageResults == {"build": StageResult("pass", 0.0)}


def test_a_history_item_with_only_a_start_is_a_run_that_says_nothing_more():
    from mlcc_ci.models import Run

    assert decode.run({"configId": "abc", "startedAt": "2026-01-01T00:00:00Z"}) == Run(
        configId="abc",
        startedAt="2026-01-01T00:00:00Z",
        runId="2026-01-01T00:00:00Z",
        finishedAt="2026-01-01T00:00:00Z",
        status="",
        durationSeconds=0.0,
        deploymentConfig="",
        stageResults={},
        errorMessage="",
        profile="default",
        estimatedCost=None,
    )


def test_a_history_item_of_another_writer_reads_every_field():
    from mlcc_ci.models import Run, StageResult

    got = decode.run(
        {
            "configId": "abc",
            "startedAt": "2026-01-01T00:00:00Z",
            "runId": "r1",
            "finishedAt": "2026-01-01T01:00:00Z",
            "status": "fail-adapter_test",  # the adapter's name for our deploy_test
            "durationSeconds": Decimal("12"),
            "deploymentConfig": "http-flask",
            "stageResults": {
                "build": {
                    "status": "failed",
                    "durationSeconds": 1,
                    "logPointer": "/logs/b.log",
                    "errorSummary": "boom",
                    "note": "no cache",
                }
            },
            "errorMessage": "build failed",
            "profile": "static",
        }
    )
    assert got == Run(
        configId="abc",
        startedAt="2026-01-01T00:00:00Z",
        runId="r1",
        finishedAt="2026-01-01T01:00:00Z",
        status="fail-deploy_test",
        durationSeconds=12.0,
        deploymentConfig="http-flask",
        stageResults={"build": StageResult("fail", 1.0, "/logs/b.log", "boom", "no cache")},
        errorMessage="build failed",
        profile="static",
        estimatedCost=None,
    )


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ({"startedAt": None}, "?: history item: no startedAt"),
        (
            {"configId": "abc", "startedAt": "soon"},
            "abc: history item: startedAt 'soon' is not a time",
        ),
        (
            {"configId": "abc", "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "nope"},
            "abc: history item: finishedAt 'nope' is not a time",
        ),
        (
            {
                "configId": "abc",
                "startedAt": "2026-01-01T00:00:00Z",
                "stageResults": {"b": {"status": "s" * 50}},
            },
            f"abc: history item: stage status '{'s' * 40}' is not pass, fail or skip",
        ),
    ],
)
def test_an_unreadable_history_item_says_whose_and_why(values, text):
    with pytest.raises(decode.Unreadable) as caught:
        decode.run(values)
    assert str(caught.value) == text
    assert caught.value.config_id == text.split(": ")[0]


def test_plain_turns_dynamodb_decimals_into_numbers_all_the_way_down():
    item = {"a": Decimal("2"), "b": [Decimal("1.5"), {"c": Decimal("3")}], "d": "x"}
    assert decode.plain(item) == {"a": 2, "b": [1.5, {"c": 3}], "d": "x"}


def test_moments_between_1970_and_2200_only():
    assert decode.moment("", "createdAt") is None
    assert decode.moment("1970-01-01T00:00:00Z", "createdAt") == "1970-01-01T00:00:00Z"
    assert decode.moment("2200-12-31T23:59:59Z", "createdAt") == "2200-12-31T23:59:59Z"
    assert decode.moment("1970-01-01T00:00:00+00:00", "createdAt") == "1970-01-01T00:00:00Z"
    assert decode.moment("2200-06-01T00:00:00+00:00", "createdAt") == "2200-06-01T00:00:00Z"
    assert decode.moment("2026-01-01T00:00:00.1+00:00", "x") == "2026-01-01T00:00:00.100Z"
    with pytest.raises(
        ValueError, match=r"^createdAt '1969-12-31T23:59:59Z' lies outside 1970-2200$"
    ):
        decode.moment("1969-12-31T23:59:59Z", "createdAt")
    with pytest.raises(
        ValueError, match=r"^createdAt '2201-01-01T00:00:00Z' lies outside 1970-2200$"
    ):
        decode.moment("2201-01-01T00:00:00Z", "createdAt")
    long = "1969-12-31T23:59:59.000000+00:00:00.000000"  # 42 characters, a valid offset
    with pytest.raises(ValueError) as caught:
        decode.moment(long, "x")
    assert str(caught.value) == f"x {long[:40]!r} lies outside 1970-2200"


def test_a_moment_that_is_no_time_is_named_to_forty_characters():
    with pytest.raises(ValueError) as caught:
        decode.moment(10**50, "createdAt")
    assert str(caught.value) == f"createdAt '{'1' + '0' * 39}' is not a time"
    with pytest.raises(ValueError) as caught:
        decode.moment("y" * 50, "createdAt")
    assert str(caught.value) == f"createdAt '{'y' * 40}' is not a time"


def test_the_year_of_a_moment_is_its_year_in_utc_whatever_the_local_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        with pytest.raises(ValueError, match="lies outside"):
            decode.moment("1969-12-31T23:30:00+00:00", "createdAt")  # 1970 in Tokyo
    finally:
        monkeypatch.undo()
        time.tzset()


def test_numbers_seconds_and_text_of_any_writer():
    assert decode._number(math.inf) is None
    assert decode._number(" 12.5 ") == 12.5
    assert decode._seconds(0) == 0 and decode._seconds(-1) is None and decode._seconds("2.6") == 3
    assert decode._text(7) == "7" and decode._text("a\x1bb") is not None
    assert decode._text([1]) is None and decode._text(True) is None and decode._text({}) is None


def test_stage_results_stored_as_blank_text_are_none():
    assert decode.stages("  ") == {}


def test_scrub_masks_a_secret_named_key_and_says_where():
    value = {"API_TOKEN": "plain", "name": "x", "more": [{"PASSWORD": "p"}], "SECRET": "***"}
    assert decode.scrub(value) == (
        {"API_TOKEN": "***", "name": "x", "more": [{"PASSWORD": "***"}], "SECRET": "***"},
        ["API_TOKEN", "more[0].PASSWORD"],  # one already masked is no news
    )


def test_config_json_numbers_text_and_size():
    ok = {"deploymentConfig": "x", "endpointConfig": {"initialInstanceCount": 2}, "note": "é"}
    text, parsed, found = decode.config_json(ok)
    assert text == '{"deploymentConfig":"x","endpointConfig":{"initialInstanceCount":2},"note":"é"}'
    assert parsed == ok and found == []
    bad = {"icConfig": {"cpuCount": "z" * 50}}
    with pytest.raises(ValueError) as caught:
        decode.config_json(bad)
    assert str(caught.value) == f"configJson icConfig.cpuCount '{'z' * 40}' is not a number"
    # exactly the limit is kept, one character more is refused
    pad = decode.CONFIG_LIMIT - len('{"a":""}')
    assert len(decode.config_json({"a": "p" * pad})[0]) == decode.CONFIG_LIMIT
    with pytest.raises(ValueError, match=r"^configJson is 64 KB, more than 64 KB$"):
        decode.config_json({"a": "p" * (pad + 1)})
    with pytest.raises(ValueError, match=r"^configJson is 65 KB, more than 64 KB$"):
        decode.config_json({"a": "p" * (pad + 1024)})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"testStatus": [1]}, "testStatus '[1]' is not a status"),
        ({"testStatus": "x" * 50}, f"testStatus '{'x' * 40}' is not a status"),
        (
            {"projectName": "../.."},
            "projectName '../..' is not valid (expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
        ),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "/etc"})},
            "projectName '/etc' is not valid (expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
        ),
        (
            {
                "deploymentConfig": "http-flask",
                "configJson": json.dumps({"deploymentConfig": "../x"}),
            },
            "deploymentConfig '../x' is not valid (expected [a-z0-9][a-z0-9-]{0,63})",
        ),
        ({"runId": "../../e"}, "runId '../../e' is not valid (expected [A-Za-z0-9_-]{1,64})"),
    ],
)
def test_names_that_would_be_paths_or_arguments_are_unreadable(changes, reason):
    with pytest.raises(decode.Unreadable) as caught:
        decode.record(item(**changes))
    assert caught.value.reason == reason


def test_an_empty_project_name_is_none_and_the_configs_is_used():
    assert decode.record(item(projectName="")).projectName == "p"


def test_the_build_strategy_of_the_item_then_of_its_config():
    config = json.dumps({"deploymentConfig": "http-flask", "buildStrategy": "docker-in-docker"})
    assert decode.record(item(buildStrategy="codebuild-submit")).buildStrategy == "codebuild-submit"
    assert decode.record(item(configJson=config)).buildStrategy == "docker-in-docker"
    both = item(configJson=config, buildStrategy="codebuild-submit")
    assert decode.record(both).buildStrategy == "codebuild-submit"
    assert decode.record(item()).buildStrategy == ""


def test_a_stored_cost():
    from mlcc_ci.models import Cost

    assert decode.cost({"usd": 0}) == Cost(0.0, "")
    assert decode.cost({"usd": Decimal("1.5"), "basis": "b"}) == Cost(1.5, "b")
    assert decode.cost({"usd": -1}) is None
    assert decode.cost({"usd": None}) == Cost(None, "")


def test_an_unreadable_recent_run_is_left_out_and_the_rest_kept():
    runs = [
        {"startedAt": "2026-01-03T00:00:00Z", "status": "pass"},
        {"startedAt": "never"},
        {"startedAt": "2026-01-01T00:00:00Z", "status": "fail-build"},
    ]
    got = decode.record(item(recentRuns=runs)).recentRuns
    assert [(r.startedAt, r.status) for r in got] == [
        ("2026-01-03T00:00:00Z", "pass"),
        ("2026-01-01T00:00:00Z", "fail-build"),
    ]


def test_a_running_record_keeps_its_images_versions_and_progress_within_write_limits():
    running = item(
        testStatus="running",
        runId="r1",
        runStartedAt="2026-01-01T00:00:00Z",
        baseImage="python:3.12",
        generatorVersion="1.6.0",
        provenImage="img@sha256:abc",
        errorMessage="e" * 2500,
        currentStage="s" * 70,
        currentStageStartedAt="2026-01-01T00:05:00Z",
    )
    got = decode.record(running)
    assert (got.baseImage, got.generatorVersion, got.provenImage) == (
        "python:3.12",
        "1.6.0",
        "img@sha256:abc",
    )
    assert got.errorMessage == "e" * 1999 + "…"  # a write allows 2000 characters
    assert got.currentStage == "s" * 63 + "…"
    assert got.currentStageStartedAt == "2026-01-01T00:05:00Z"


def test_an_item_without_a_readable_configid_is_named_as_well_as_it_can_be():
    for stored, shown in ((None, "?"), ("", "?"), (7, "7")):
        with pytest.raises(decode.Unreadable) as caught:
            decode.record({"configId": stored})
        assert (caught.value.config_id, caught.value.reason) == (shown, "no configId")
    with pytest.raises(decode.Unreadable) as caught:
        decode.record({"configId": "ab\x1bcd"})
    assert caught.value.reason == "the configId holds control characters"
    assert caught.value.config_id == "ab?cd"  # the escape character made harmless
    with pytest.raises(decode.Unreadable) as caught:
        decode.record(item(testStatus="nope"))
    assert caught.value.config_id == "0123456789abcdef"


def test_a_dynamodb_item_reads_as_its_json_twin():
    twin = item(
        version=3,
        lastTestDuration=842,
        estimatedCost={"usd": 1.5, "basis": "b"},
        stageResults={"build": {"status": "pass", "durationSeconds": 2}},
        recentRuns=[{"startedAt": "2026-01-01T00:00:00Z", "status": "pass", "durationSeconds": 2}],
    )
    dynamo = item(
        version=Decimal("3"),
        lastTestDuration=Decimal("842"),
        estimatedCost={"usd": Decimal("1.5"), "basis": "b"},
        stageResults={"build": {"status": "pass", "durationSeconds": Decimal("2")}},
        recentRuns=[
            {"startedAt": "2026-01-01T00:00:00Z", "status": "pass", "durationSeconds": Decimal("2")}
        ],
    )
    assert decode.record(dynamo) == decode.record(twin, from_json=True)


def test_plain_reads_any_mapping_and_list_not_only_dict_and_list():
    from collections import OrderedDict

    class Items(list):
        pass

    assert decode.plain(OrderedDict(a=Decimal("2"))) == {"a": 2}
    assert decode.plain(Items([Decimal("1.5")])) == [1.5]


def test_an_id_is_shown_on_one_line_whatever_was_stored():
    assert decode.shown_id("abc\ndef\tg\x1b[31mh") == "abc?def?gh"
    assert decode.shown_id("") == "?"
    assert decode.shown_id("x" * 70) == "x" * 64


def test_a_stored_failure_is_bounded_as_its_writes_are():
    from mlcc_ci.decode import failure

    found = failure({"class": "quota", "stage": "s" * 100, "rule": "r" * 300, "capture": "c" * 300})
    assert (len(found.stage), len(found.rule), len(found.capture)) == (64, 128, 200)
    assert found.rule.endswith("…") and found.capture.endswith("…")
    exact = failure({"class": "quota", "stage": "s" * 64, "rule": "r" * 128, "capture": "c" * 200})
    assert (exact.stage, exact.rule, exact.capture) == ("s" * 64, "r" * 128, "c" * 200)
    bare = failure({"class": "infra"})
    assert (bare.stage, bare.rule, bare.capture) == ("", "", "")


def test_a_stored_block_is_bounded_and_read_field_by_field():
    from mlcc_ci.decode import blocked

    base = {
        "class": "capacity",
        "since": "2026-01-01T00:00:00Z",
        "retryAfter": "2026-01-01T01:00:00Z",
    }
    bare = blocked(base)
    assert (bare.stage, bare.rule, bare.capture, bare.rounds, bare.notified) == (
        "",
        "",
        "",
        1,
        False,
    )
    long = blocked({**base, "stage": "s" * 100, "rule": "r" * 300, "capture": "c" * 300})
    assert (len(long.stage), len(long.rule), len(long.capture)) == (64, 128, 200)
    exact = blocked({**base, "stage": "s" * 64, "rule": "r" * 128, "capture": "c" * 200})
    assert (exact.stage, exact.rule, exact.capture) == ("s" * 64, "r" * 128, "c" * 200)
    assert blocked({**base, "rounds": 2**31 - 1}).rounds == 2**31 - 1
    assert blocked({**base, "rounds": 2**31}).rounds == 1  # beyond any real streak
    assert blocked({**base, "rounds": 100}).rounds == 100
    assert blocked({**base, "notified": "yes"}).notified is False  # only true is true
    assert blocked({**base, "notified": True}).notified is True
    assert (bare.since, bare.retryAfter) == ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    assert blocked({**base, "retryAfter": "soon"}) is None


@pytest.mark.parametrize(
    ("value", "attempt"),
    [(None, 1), (1, 1), (2, 2), (999, 999), (1000, 1), (0, 1), (-3, 1), ("3", 3), (2.7, 2)],
)
def test_a_run_s_attempt_is_read_within_bounds(value, attempt):
    item = {"configId": "abc", "startedAt": "2026-01-01T00:00:00Z", "attempt": value}
    assert decode.run(item).attempt == attempt


def test_a_record_with_no_project_name_anywhere_reads_as_empty():
    item = {
        "configId": "a" * 16,
        "configJson": json.dumps({"deploymentConfig": "http-flask"}),
        "testStatus": "untested",
    }
    assert decode.record(item).projectName == ""


def test_a_bad_run_id_is_named_as_it_was_stored():
    item = {
        "configId": "a" * 16,
        "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "p"}),
        "testStatus": "untested",
        "runId": "bad\x07id",
    }
    with pytest.raises(decode.Unreadable) as raised:
        decode.record(item)
    assert "runId 'bad\\x07id' is not valid (expected" in str(raised.value)


# The quick path of a stage (the shape mlcc-ci writes) against the full one, called directly:
# texts of every kind, hostile ones too (secrets, escapes, control characters, over-long).
_TEXTS = st.sampled_from(
    [
        "",
        "/work/config-00001/build.log",
        "endpoint never InService after " + "x" * 400,
        "password=hunter2hunter2",
        "see https://user:pa55word@example.com/x",
        "AKIAABCDEFGHIJKLMNOP in the log",
        "\x1b]0;title\x07after",
        "\x1b[31mred\x1b[0m",
        "\x1b[0m",
        "line\nnext\ttab",
        "\x00\x7f\x9b",
        "é ünïcode ✓",
        "y" * 5000,
        "z" * 1001,
    ]
)
_STAGE_VALUES = st.one_of(
    _TEXTS,
    st.none(),
    st.sampled_from([0, 0.0, -0.0, 1.5, 7, True, False, [], {}, math.nan, Decimal("2")]),
)
_SECONDS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**3), max_value=10**400),
    st.sampled_from([-0.0, True, "12", "x", Decimal("3.5"), 10**400]),
)
_STATUSES = st.sampled_from(["pass", "fail", "skip", "PASS", "passed", " fail ", "nope", 1, None])


@given(
    status=_STATUSES,
    seconds=_SECONDS,
    texts=st.dictionaries(st.sampled_from(["logPointer", "errorSummary", "note"]), _STAGE_VALUES),
    foreign=st.dictionaries(st.sampled_from(["exitCode", "phase", "status2"]), _STAGE_VALUES),
    without_seconds=st.booleans(),
)
def test_the_quick_stage_path_gives_what_the_full_one_gives(
    status, seconds, texts, foreign, without_seconds
):
    from mlcc_ci import storedvalues

    value = {"status": status, **({} if without_seconds else {"durationSeconds": seconds})}
    value = {**value, **texts, **foreign}

    def outcome(read):
        try:
            got = read(value)
        except ValueError as exc:
            return ("ValueError", str(exc))
        return got  # -0.0 is 0.0 here (the two-key quick path keeps -0.0, as it always did)

    assert outcome(decode.stage) == outcome(storedvalues._full_stage)


def test_the_quick_stage_path_cleans_what_mlcc_ci_writes_as_the_full_one_does():
    from mlcc_ci.models import StageResult
    from mlcc_ci.storedvalues import _STAGE_LIMITS, TEXT_LIMIT

    error_limit, note_limit = _STAGE_LIMITS["errorSummary"], _STAGE_LIMITS["note"]
    written = {
        "status": "fail",
        "durationSeconds": 12,
        "logPointer": "/work/a.log",
        "errorSummary": "token=abcdefghijklmnop failed",
        "note": "\x1b[31mred\x1b[0m",
    }
    got = decode.stage(written)
    assert got == StageResult("fail", 12.0, "/work/a.log", "token=*** failed", "red")
    assert type(got.durationSeconds) is float
    zero = decode.stage({"status": "pass", "durationSeconds": -0.0, "note": "n"})
    assert repr(zero.durationSeconds) == "0.0"
    long = decode.stage(
        {
            "status": "pass",
            "durationSeconds": 1.0,
            "logPointer": "l" * (TEXT_LIMIT + 5),
            "errorSummary": "e" * (error_limit + 5),
            "note": "n" * (note_limit + 5),
        }
    )
    assert long.logPointer == "l" * (TEXT_LIMIT - 1) + "…"
    assert long.errorSummary == "e" * (error_limit - 1) + "…"
    assert long.note == "n" * (note_limit - 1) + "…"
    exact = decode.stage(
        {
            "status": "pass",
            "durationSeconds": 1.0,
            "errorSummary": "e" * error_limit,
            "note": "n" * note_limit,
            "logPointer": "l" * TEXT_LIMIT,
        }
    )
    assert (exact.errorSummary, exact.note, exact.logPointer) == (
        "e" * error_limit,
        "n" * note_limit,
        "l" * TEXT_LIMIT,
    )
    # a text that is a number is its text; None and an absent one are empty
    assert decode.stage(
        {"status": "skip", "durationSeconds": 0, "note": 7, "logPointer": None}
    ) == (StageResult("skip", 0.0, "", "", "7"))
    assert decode.stage({"status": "pass", "durationSeconds": 2.5, "note": "line\nnext"}) == (
        StageResult("pass", 2.5, "", "", "line\nnext")
    )
    assert decode.stage({"status": "pass", "durationSeconds": 2.5, "note": "\x1b[0m"}) == (
        StageResult("pass", 2.5)
    )


def test_the_quick_stage_path_leaves_to_the_full_one_what_is_not_a_string():
    from mlcc_ci.models import StageResult
    from mlcc_ci.storedvalues import _STAGE_LIMITS, TEXT_LIMIT

    # the quick path caps once: right only while no stage text may be longer than any text
    assert max(_STAGE_LIMITS.values()) <= TEXT_LIMIT
    for key in ("logPointer", "errorSummary", "note"):
        for stored, read in ((7, "7"), (2.5, "2.5"), ([], ""), (None, ""), (True, "")):
            got = decode.stage({"status": "pass", "durationSeconds": 4.0, key: stored})
            assert got == StageResult("pass", 4.0, **{key: read})
        hostile = "\x07" + "w" * 5000  # not printable, and longer than any limit
        got = decode.stage({"status": "pass", "durationSeconds": 4.0, key: hostile})
        assert getattr(got, key) == "?" + "w" * ((_STAGE_LIMITS.get(key) or TEXT_LIMIT) - 2) + "…"
    # a bool is no number of seconds, whatever int says of it
    assert decode.stage({"status": "pass", "durationSeconds": True}) == StageResult("pass", 0.0)

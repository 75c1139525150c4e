"""`mlcc-ci store doctor` on a SQLite store, in-process: each finding as it is named, and
each fix (adopt, merge, or leave, and why) as it is done. Written for make mutation
(issue 32); tests/test_hardening.py and tests/test_interop.py run it through the CLI."""

import json
from dataclasses import replace

import pytest

from mlcc_ci import doctor
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.doctor import Finding
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.models import Run
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from tests.stores import sqlite_store

pytestmark = pytest.mark.functional
FLASK = load_valid_catalog().get("http-flask")
OURS = FLASK.config_id
THEIRS = "00000000000000e1"
T0 = "2026-01-01T00:00:00Z"


@pytest.fixture
def store(tmp_path):
    with sqlite_store(tmp_path) as opened:
        yield opened


def plant(store, config_id: str, *, version: int = 0, **fields) -> None:
    """An item another writer stored (no version unless given)."""
    item = {
        "configId": config_id,
        "configJson": json.dumps({**FLASK.config, "projectName": "theirs"}),
        "deploymentConfig": "http-flask",
        "testStatus": "untested",
        "lastTestTimestamp": "1970-01-01T00:00:00Z",
        **({"version": version} if version else {}),
        **fields,
    }
    with store._write() as conn:
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            (
                config_id,
                item["testStatus"],
                item["lastTestTimestamp"],
                version,
                None,
                item if isinstance(item, str) else json.dumps(item),
            ),
        )


def plant_text(store, config_id: str, text: str) -> None:
    with store._write() as conn:
        conn.execute(
            "INSERT INTO records VALUES (?, 'untested', '1970-01-01T00:00:00Z', 0, NULL, ?)",
            (config_id, text),
        )


def ours(store, status: str = "untested", at: str = "1970-01-01T00:00:00Z"):
    """The catalog's own record of http-flask, as mlcc-ci wrote it."""
    store.register(from_entry(FLASK), T0)
    record = store.get(OURS)
    if status != "untested":
        record = replace(record, testStatus=status, lastTestTimestamp=at, version=2)
        store.replace(record, expect_version=1, expect_run_id=None)
    return store.get(OURS)


def another_pair(store) -> None:
    """Two records mlcc-ci wrote of another deployment: the doctor merges cccc… into bbbb…."""
    config = json.dumps({**FLASK.config, "instanceType": "ml.c5.xlarge"})
    plant(store, "b" * 16, version=1, configJson=config)
    plant(store, "c" * 16, version=1, configJson=config)


PAIR_MERGED = f"merged {'c' * 16} into {'b' * 16} (0 runs of history moved), deleted it"


def run(config_id: str, day: int) -> Run:
    return Run(
        configId=config_id,
        startedAt=f"2026-01-0{day}T00:00:00.000Z",
        runId=f"run-{day}",
        finishedAt=f"2026-01-0{day}T01:00:00Z",
        status="pass",
        durationSeconds=5.0,
        deploymentConfig="http-flask",
    )


def test_what_no_reader_understands_is_named_unreadable_and_left(store):
    plant_text(store, "a" * 16, "[1, 2]")
    plant_text(store, "b" * 16, json.dumps({"configId": "b" * 16}))
    plant(store, "c" * 16)  # read after them: examined all the same
    exam = doctor.examine(store)
    assert exam.findings == [
        Finding("unreadable", "a" * 16, "not a stored item"),
        Finding("unreadable", "b" * 16, "configJson is missing"),
        Finding("foreign", "c" * 16, "no version"),
    ]
    assert [r.configId for r in exam.adopt] == ["c" * 16] and exam.merge == []
    assert doctor.fix(store, exam) == [
        f"adopted {'c' * 16}: rewritten in mlcc-ci's shape, secrets masked"
    ]


def test_another_tool_s_shape_and_secrets_are_found_and_adopted(store):
    secret = "clone failed: https://user:password123@git.example.com"
    config = {**FLASK.config, "projectName": "x", "parameters": {"DB_PASSWORD": "hunter2"}}
    plant(
        store,
        "c" * 16,
        configJson=json.dumps({**config, "awsRegion": "eu-west-1"}),
        stageResults=json.dumps({"build": {"status": "fail", "errorSummary": secret}}),
        testStatus="fail-build",
        lastTestTimestamp="2026-01-02T00:00:00Z",
        errorMessage=secret,
        ownerTeam="inference",  # another tool's attribute: kept, and no finding of its own
    )
    exam = doctor.examine(store)
    assert exam.findings == [
        Finding("foreign", "c" * 16, "no version"),
        Finding("foreign", "c" * 16, "stageResults stored as a string"),
        Finding("secrets", "c" * 16, "secrets at configJson.parameters.DB_PASSWORD, errorMessage"),
    ]
    assert [r.configId for r in exam.adopt] == ["c" * 16] and exam.merge == []
    assert doctor.fix(store, exam) == [
        f"adopted {'c' * 16}: rewritten in mlcc-ci's shape, secrets masked"
    ]
    item = dict(store.raw_items())["c" * 16]
    assert item["version"] == 1 and item["ownerTeam"] == "inference"
    assert "password123" not in json.dumps(item) and "hunter2" not in json.dumps(item)
    assert doctor.examine(store).findings == []  # a second look finds nothing more


def test_secrets_in_stage_summaries_and_support_reasons_are_named_where_they_are(store):
    secret = "AKIAABCDEFGHIJKLMNOP"
    plant(
        store,
        "d" * 16,
        version=3,
        stageResults={"build": {"status": "fail", "errorSummary": f"key {secret}"}},
        supportReason=f"uses {secret}",
    )
    found = doctor.examine(store).findings
    assert found == [
        Finding("secrets", "d" * 16, "secrets at supportReason, stageResults.build.errorSummary")
    ]


def test_mlcc_ci_s_own_records_with_another_tool_s_attribute_need_nothing(store):
    ours(store)
    from tests.stores import add_foreign_attribute

    add_foreign_attribute(store, OURS, "ownerTeam", "inference")
    exam = doctor.examine(store)
    assert exam.findings == [] and exam.adopt == [] and exam.merge == []


def test_a_duplicate_s_history_and_newer_result_move_to_the_catalog_s_record(store):
    canonical = ours(store, "fail-build", "2026-01-01T00:00:00Z")
    plant(
        store,
        THEIRS,
        testStatus="pass",
        previousStatus="fail-build",
        lastTestTimestamp="2026-01-05T00:00:00Z",
        lastPassTimestamp="2026-01-05T00:00:00Z",
        generatorVersion="9.9.9",
        provenImage="repo/theirs@sha256:" + "a" * 64,
    )
    store.append_run(run(THEIRS, 1))
    store.append_run(run(THEIRS, 2))
    plant(store, "f" * 16, configJson=json.dumps({**FLASK.config, "instanceType": "ml.c5.large"}))
    exam = doctor.examine(store, preferred={OURS})
    duplicate = Finding("duplicate", THEIRS, f"same deployment as {OURS} (http-flask)")
    assert exam.findings == [
        Finding("foreign", THEIRS, "no version"),
        Finding("foreign", "f" * 16, "no version"),
        duplicate,
    ]
    assert [(d.configId, c.configId) for d, c in exam.merge] == [(THEIRS, OURS)]
    assert doctor.fix(store, exam) == [
        f"adopted {'f' * 16}: rewritten in mlcc-ci's shape, secrets masked",
        f"merged {THEIRS} into {OURS} (2 runs of history moved), deleted it",
    ]  # adopting THEIRS first would be wasted: it is merged away
    assert store.get(THEIRS) is None
    merged = store.get(OURS)
    assert merged.testStatus == "pass" and merged.previousStatus == "fail-build"
    assert merged.lastTestTimestamp == "2026-01-05T00:00:00Z"
    assert merged.lastPassTimestamp == "2026-01-05T00:00:00Z"
    assert merged.generatorVersion == "9.9.9"
    assert merged.provenImage == "repo/theirs@sha256:" + "a" * 64
    assert merged.version == canonical.version + 1
    assert merged.createdAt == canonical.createdAt and merged.configJson == canonical.configJson
    assert [r.runId for r in store.history(OURS)] == ["run-2", "run-1"]
    assert doctor.examine(store, preferred={OURS}).findings == []


def test_an_older_duplicate_leaves_the_canonical_result_and_keeps_what_it_knew(store):
    canonical = ours(store, "pass", "2026-01-09T00:00:00Z")
    store.replace(
        replace(
            canonical,
            generatorVersion="1.6.0",
            lastPassTimestamp="2026-01-09T00:00:00Z",
            version=canonical.version + 1,
        ),
        expect_version=canonical.version,
        expect_run_id=None,
    )
    canonical = store.get(OURS)
    plant(
        store, THEIRS, version=1, testStatus="fail-build", lastTestTimestamp="2026-01-02T00:00:00Z"
    )
    store.append_run(run(THEIRS, 1))
    exam = doctor.examine(store, preferred={OURS})
    assert doctor.fix(store, exam) == [
        f"merged {THEIRS} into {OURS} (1 run of history moved), deleted it"
    ]
    assert store.get(OURS) == canonical  # its own, newer result stands
    assert store.get(THEIRS) is None


def test_a_newer_duplicate_carries_the_canonical_s_last_pass_and_versions_when_it_has_none(store):
    canonical = ours(store, "pass", "2026-01-01T00:00:00Z")
    store.replace(
        replace(
            canonical,
            lastPassTimestamp="2026-01-01T00:00:00Z",
            generatorVersion="1.6.0",
            provenImage="repo/ours@sha256:" + "b" * 64,
            version=canonical.version + 1,
        ),
        expect_version=canonical.version,
        expect_run_id=None,
    )
    plant(
        store, THEIRS, version=1, testStatus="fail-build", lastTestTimestamp="2026-01-03T00:00:00Z"
    )
    doctor.fix(store, doctor.examine(store, preferred={OURS}))
    merged = store.get(OURS)
    assert merged.testStatus == "fail-build"
    assert merged.lastPassTimestamp == "2026-01-01T00:00:00Z"  # theirs has none
    assert merged.generatorVersion == "1.6.0"
    assert merged.provenImage == "repo/ours@sha256:" + "b" * 64


def test_the_oldest_record_stands_for_a_deployment_no_catalog_names(store):
    plant(store, "f" * 16, version=1, createdAt="2026-01-02T00:00:00Z")
    plant(store, "e" * 16, version=1, createdAt="2026-01-01T00:00:00Z")
    exam = doctor.examine(store)
    assert exam.findings == [
        Finding("duplicate", "f" * 16, f"same deployment as {'e' * 16} (http-flask)")
    ]


def test_running_records_are_left_for_later(store):
    record = ours(store)
    claim(store, record, "run-1", "2026-01-02T00:00:00.000Z")
    plant(store, THEIRS, testStatus="pass", lastTestTimestamp="2099-01-01T00:00:00Z")
    plant(
        store,
        "a" * 16,
        testStatus="running",
        configJson=json.dumps({**FLASK.config, "instanceType": "ml.m5.xlarge"}),
    )
    plant(store, "ab" * 8, configJson=json.dumps({**FLASK.config, "instanceType": "ml.c5.large"}))
    another_pair(store)
    exam = doctor.examine(store, preferred={OURS})
    assert doctor.fix(store, exam) == [  # each left, and the next one done
        f"left {'a' * 16}: it is running; try again when it is done",
        f"adopted {'ab' * 8}: rewritten in mlcc-ci's shape, secrets masked",
        f"left {THEIRS}: {OURS} is running; try again when it is done",
        PAIR_MERGED,
    ]
    assert store.get(THEIRS) is not None and store.get(OURS).testStatus == "running"


def test_a_running_duplicate_is_left_and_not_merged(store):
    ours(store)
    plant(store, THEIRS, testStatus="running")
    another_pair(store)
    exam = doctor.examine(store, preferred={OURS})
    assert doctor.fix(store, exam) == [
        f"left {THEIRS}: it is running; try again when it is done",
        f"left {THEIRS}: it is running; try again when it is done",
        PAIR_MERGED,
    ]  # once as a record to adopt, once as a duplicate; the next duplicate is merged
    assert store.get(THEIRS).testStatus == "running"


class Refusing:
    """The store, except that a replace of `config_id` fails as `error`."""

    def __init__(self, store, config_id: str, error: Exception) -> None:
        self.store, self.config_id, self.error = store, config_id, error

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def replace(self, record, **kwargs) -> None:
        if record.configId == self.config_id:
            raise self.error
        self.store.replace(record, **kwargs)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ConflictError("lost"), "it changed while the doctor looked"),
        (StoreError("too big"), "the store refused it (too big)"),
    ],
)
def test_an_adoption_that_fails_leaves_that_record_and_goes_on(store, error, said):
    plant(store, "a" * 16)
    plant(store, "b" * 16, configJson=json.dumps({**FLASK.config, "instanceType": "ml.c5.large"}))
    exam = doctor.examine(store)
    assert doctor.fix(Refusing(store, "a" * 16, error), exam) == [
        f"left {'a' * 16}: {said}",
        f"adopted {'b' * 16}: rewritten in mlcc-ci's shape, secrets masked",
    ]


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ConflictError("lost"), f"{OURS} changed meanwhile"),
        (StoreError("too big"), "the store refused the merge (too big)"),
    ],
)
def test_a_merge_that_fails_keeps_the_duplicate(store, error, said):
    ours(store)
    plant(store, THEIRS, version=1, testStatus="pass", lastTestTimestamp="2026-01-05T00:00:00Z")
    another_pair(store)
    exam = doctor.examine(store, preferred={OURS})
    assert doctor.fix(Refusing(store, OURS, error), exam) == [f"left {THEIRS}: {said}", PAIR_MERGED]
    assert store.get(THEIRS) is not None


def test_a_canonical_record_adopted_first_is_merged_into_as_adopted(store):
    """Both records are another tool's: the canonical one is adopted (its version moves on),
    then the newer result of its duplicate is written onto it as it now is."""
    plant(
        store,
        "a" * 16,
        createdAt="2026-01-01T00:00:00Z",
        testStatus="fail-build",
        lastTestTimestamp="2026-01-02T00:00:00Z",
    )
    plant(
        store,
        "b" * 16,
        createdAt="2026-01-03T00:00:00Z",
        testStatus="pass",
        lastTestTimestamp="2026-01-04T00:00:00Z",
    )
    exam = doctor.examine(store, preferred={"a" * 16})
    assert doctor.fix(store, exam) == [
        f"adopted {'a' * 16}: rewritten in mlcc-ci's shape, secrets masked",
        f"merged {'b' * 16} into {'a' * 16} (0 runs of history moved), deleted it",
    ]
    merged = store.get("a" * 16)
    assert merged.testStatus == "pass" and merged.version == 2
    assert store.get("b" * 16) is None


def test_a_duplicate_tested_at_the_same_moment_leaves_the_canonical_result(store):
    ours(store, "fail-build", "2026-01-05T00:00:00Z")
    plant(store, THEIRS, version=1, testStatus="pass", lastTestTimestamp="2026-01-05T00:00:00Z")
    doctor.fix(store, doctor.examine(store, preferred={OURS}))
    assert store.get(OURS).testStatus == "fail-build"
    assert store.get(THEIRS) is None

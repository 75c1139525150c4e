"""`mlcc-ci register --from-catalog` against both stores, and its bad inputs."""

import json

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.open import open_store

pytestmark = pytest.mark.functional


def test_fresh_sqlite_store_19_created_then_19_unchanged(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    first = cli("register", "--from-catalog", "--all", "--store", url)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert sum(line.startswith("created ") for line in lines) == 19
    assert lines[-1] == "19 created, 0 changed, 0 unchanged"
    said = {line.split()[1]: line.split("  (", 1)[-1] for line in lines if "(unsupported: " in line}
    assert sorted(said) == ["diffusors-comfyui", "diffusors-sglang", "http-nginx", "marketplace"]
    assert (
        said["http-nginx"] == "unsupported: generator 1.6.0 has no such deployment configuration)"
    )
    second = cli("register", "--from-catalog", "--all", "--store", url)
    assert second.output.splitlines()[-1] == "0 created, 0 changed, 19 unchanged"
    records = list(open_store(url).records())
    assert len(records) == 19
    unsupported = {r.deploymentConfig for r in records if r.supportState == "unsupported"}
    assert unsupported == {
        "http-nginx",
        "diffusors-sglang",
        "diffusors-comfyui",
        "marketplace",
    }


def test_default_store_lives_in_xdg_data_home(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli("register", "--from-catalog", "http-flask").exit_code == 0
    assert (tmp_path / "xdg" / "mlcc-ci" / "results.db").is_file()


def test_changed_entry_goes_back_to_untested(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    entry = load_valid_catalog().get("http-flask")
    store = open_store(url)
    old = from_entry(entry)
    store.register(
        old.__class__(**{**old.__dict__, "configJson": '{"old":1}'}), "2026-01-01T00:00:00Z"
    )
    result = cli("register", "--from-catalog", "http-flask", "--store", url)
    assert result.output.splitlines()[0].split() == [
        "changed",
        "→",
        "untested",
        "http-flask",
        entry.config_id,
    ]
    record = open_store(url).get(entry.config_id)
    assert record.configJson == entry.config_json and record.createdAt == "2026-01-01T00:00:00Z"


def test_dry_run_writes_nothing(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli("register", "--from-catalog", "--all", "--dry-run", "--store", url)
    assert result.output.splitlines()[0].startswith("would be created ")
    assert result.output.splitlines()[-1] == (
        "19 created, 0 changed, 0 unchanged (dry run: nothing written)"
    )
    assert list(open_store(url).records()) == []


def test_prune_asks_first(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    cli("register", "--from-catalog", "--all", "--store", url)
    store = open_store(url)
    from tests.stores import registration

    store.register(registration(99, deploymentConfig="retired"), "2026-01-01T00:00:00Z")
    declined = cli("register", "--from-catalog", "--prune", "--store", url, input="n\n")
    assert "not in the catalog: retired" in declined.output
    assert declined.output.splitlines()[-1] == "nothing deleted"
    assert open_store(url).get(f"{99:016x}") is not None
    agreed = cli("register", "--from-catalog", "--prune", "--yes", "--store", url)
    assert agreed.output.splitlines()[-1] == "deleted 1 record(s)"
    assert open_store(url).get(f"{99:016x}") is None
    assert len(list(open_store(url).records())) == 19


def test_dynamodb_table_holds_19_untested_with_catalog_config_ids(cli):
    import boto3
    from moto import mock_aws

    with mock_aws():
        assert cli("store", "create-tables", "--table", "mlcc-ci-table").exit_code == 0
        result = cli("register", "--from-catalog", "--all", "--table", "mlcc-ci-table")
        assert result.exit_code == 0, result.output
        items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="mlcc-ci-table")
        assert len(items["Items"]) == 19
        assert {i["testStatus"]["S"] for i in items["Items"]} == {"untested"}
        listed = json.loads(cli("catalog", "list", "--json").output)
        assert {i["configId"]["S"] for i in items["Items"]} == {r["configId"] for r in listed}
        again = cli("register", "--from-catalog", "--all", "--table", "mlcc-ci-table")
        assert again.output.splitlines()[-1] == "0 created, 0 changed, 19 unchanged"


def test_missing_table_says_not_provisioned(cli):
    from moto import mock_aws

    with mock_aws():
        result = cli("register", "--from-catalog", "--all", "--table", "nope")
    assert result.exit_code == 3
    assert result.output.splitlines() == [
        "Error: CI infrastructure not provisioned: table nope not found in us-east-1. Deploy the "
        "stack (cd cdk && npx cdk deploy, see README 'Deploy to AWS'), or for a local endpoint "
        "run: mlcc-ci store create-tables --store URL"
    ]


def test_no_credentials(cli, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = cli("register", "--from-catalog", "--all", "--table", "mlcc-ci-table")
    assert result.exit_code == 3
    assert result.output == (
        "Error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run 'aws configure'\n"
    )


def test_corrupt_sqlite_names_the_file(cli, tmp_path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not a database" * 100)
    result = cli("register", "--from-catalog", "--all", "--store", f"sqlite:///{db}")
    assert result.exit_code == 3
    assert result.output == f"Error: {db}: not a usable SQLite database (file is not a database)\n"
    assert db.read_bytes() == b"this is not a database" * 100


def test_bad_store_url_and_usage(cli):
    result = cli("register", "--from-catalog", "--all", "--store", "redis://x")
    assert result.exit_code == 2
    assert result.output.startswith("Error: unknown store URL 'redis://x'")
    assert cli("register", "--all").exit_code == 2
    assert cli("register", "--from-catalog").exit_code == 2


def _throttle(client, times: int):
    """Answer the next `times` writes with DynamoDB's throttling error, as the service would."""
    from botocore.awsrequest import AWSResponse

    left = {"n": times}

    def handler(model, **kwargs):
        if model.name in ("UpdateItem", "PutItem") and left["n"] > 0:
            left["n"] -= 1
            response = AWSResponse("https://dynamodb", 400, {}, None)
            parsed = {
                "Error": {
                    "Code": "ProvisionedThroughputExceededException",
                    "Message": "Rate exceeded",
                },
                "ResponseMetadata": {},
            }
            return response, parsed
        return None

    client.meta.events.register("before-call.dynamodb", handler)
    return left


def test_throttling_is_retried_then_succeeds():
    from tests.stores import dynamo_store, registration

    slept = []
    with dynamo_store(sleep=slept.append) as store:
        left = _throttle(store.client, 3)
        assert store.register(registration(1), "2026-01-01T00:00:00Z") == "created"
        assert left["n"] == 0 and len(slept) == 3 and slept[0] < slept[2]
        assert store.get(registration(1).configId) is not None


def test_throttling_gives_up_with_a_clear_error():
    from mlcc_ci.errors import StoreError
    from tests.stores import dynamo_store, registration

    with dynamo_store(sleep=lambda s: None) as store:
        _throttle(store.client, 100)
        with pytest.raises(StoreError) as info:
            store.register(registration(1), "2026-01-01T00:00:00Z")
        assert str(info.value) == (
            "DynamoDB kept throttling update_item on mlcc-ci-table "
            "(ProvisionedThroughputExceededException, 6 attempts); try again later"
        )
        assert store.get(registration(1).configId) is None


def test_concurrent_sqlite_writers(tmp_path):
    """Several local runs at once, on a file none of them has created yet: every write lands.

    The first connections race to switch the new file to WAL; that must wait, not fail."""
    import threading

    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.stores import registration

    for trial in range(25):
        path = tmp_path / f"shared-{trial}.db"
        errors = []

        def worker(k, path=path, errors=errors):
            store = SqliteStore(path)
            try:
                for n in range(k * 5, k * 5 + 5):
                    store.register(registration(n), "2026-01-01T00:00:00Z")
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                store.close()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(list(SqliteStore(path).records())) == 30


@pytest.mark.parametrize("command", [["status"], ["report"], ["plan"], ["trigger"]])
def test_aws_commands_check_the_table_first(cli, command):
    from moto import mock_aws

    with mock_aws():
        result = cli(*command, "--table", "absent")
    assert result.exit_code == 3
    assert result.output.startswith(
        "Error: CI infrastructure not provisioned: table absent not found in us-east-1. "
        "Deploy the stack (cd cdk && npx cdk deploy"
    )


def test_the_catalog_registers_for_the_stacks_region(cli, tmp_path):
    """A stack outside us-east-1 runs the catalog once it is registered for its region: the
    same entries, each a deployment of its own there."""
    store = f"sqlite:///{tmp_path / 'r.db'}"
    result = cli(
        "register", "--from-catalog", "http-flask", "--region", "eu-west-1", "--store", store
    )
    assert result.exit_code == 0, result.output
    from mlcc_ci.configid import config_id
    from mlcc_ci.stores.open import open_store

    flask = load_valid_catalog().get("http-flask")
    expected = config_id("http-flask", None, "ml.m5.large", "eu-west-1", "realtime-inference")
    assert expected != flask.config_id
    record = open_store(store).get(expected)
    assert json.loads(record.configJson)["awsRegion"] == "eu-west-1"
    bad = cli("register", "--from-catalog", "--all", "--region", "mars-1", "--store", store)
    assert bad.exit_code == 2
    assert bad.output.strip().endswith(
        "--region mars-1: not one of the catalog's rules.regions (us-east-1, us-east-2, "
        "us-west-2, eu-west-1, eu-central-1, ap-northeast-1)"
    )

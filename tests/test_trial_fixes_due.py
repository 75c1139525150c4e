"""What a new user's trial of a team catalog found, fixed: a changed model or instance type
is due at once (plan, `run --due`, a local `trigger`, and the scanner once it sees the
earlier identity); `register --prune` keeps earlier identities; `status` says how many
records are earlier identities; `plan --lf` says what the filters left, as `run` does; one
spelling of a SQLite store's URL everywhere."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.registration import from_entry
from mlcc_ci.resources import data_path
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
SHIPPED = load_valid_catalog([data_path("catalog")])


def _repo(cli, folder: Path, monkeypatch, *entries: str) -> Path:
    """A team's repository as the trial made it: `catalog init DIR ENTRY...`, a settings
    file naming it and the example profile, everything run once."""
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)
    assert cli("catalog", "init", "ci", *entries).exit_code == 0
    (folder / "mlcc-ci.toml").write_text('catalog = "ci"\nprofile = "example"\n')
    first = cli("run", "--all", "-q")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1].startswith(f"{len(entries)} passed, 0 failed")
    return folder


@pytest.fixture
def repo(cli, tmp_path, monkeypatch):
    return _repo(cli, tmp_path, monkeypatch, "triton-python", "http-fastapi")


def _set(repo: Path, name: str, key: str, value: str) -> None:
    entry = repo / "ci" / f"{name}.yaml"
    text, count = re.subn(rf"(?m)^{key}: .*$", f"{key}: {value}", entry.read_text())
    assert count == 1, f"{entry} has no {key}"
    entry.write_text(text)


def _store(repo: Path) -> SqliteStore:
    return SqliteStore(repo / ".mlcc-ci" / "example-results.db")


def _records(repo: Path, name: str) -> list:
    store = _store(repo)
    try:
        return [r for r in store.records() if r.deploymentConfig == name]
    finally:
        store.close()


# -- 1. a changed model or instance type is due at once ---------------------------------------


def test_a_changed_instance_type_is_due_at_once_and_run_due_runs_it(cli, repo):
    _set(repo, "triton-python", "instanceType", "ml.g5.2xlarge")
    plan = json.loads(cli("plan", "--json").output)
    assert [(d["name"], d["reason"], d["status"]) for d in plan["due"]] == [
        ("triton-python", "new", "untested")
    ]
    assert plan["unregistered"] == []
    text = cli("plan").output
    assert "Not registered" not in text and "register --from-catalog" not in text
    assert re.search(r"\n  triton-python +new +no record under its configId", text), text

    ran = cli("run", "--due", "-q")
    assert ran.exit_code == 0, ran.output
    assert "registered triton-python: no record under its configId" in ran.output
    rows = [line.split()[0] for line in ran.output.splitlines() if "pass" in line.split()]
    assert rows == ["triton-python"]  # only it: http-fastapi is fresh
    (now, earlier) = sorted(_records(repo, "triton-python"), key=lambda r: r.createdAt)[::-1]
    assert json.loads(now.configJson)["instanceType"] == "ml.g5.2xlarge"
    assert now.testStatus == "pass" and now.profile == "example"
    assert json.loads(earlier.configJson)["instanceType"] != "ml.g5.2xlarge"  # kept
    assert json.loads(cli("plan", "--json").output)["due"] == []

    # a revert makes the earlier identity current again: fresh, nothing due, nothing new
    _set(repo, "triton-python", "instanceType", json.loads(earlier.configJson)["instanceType"])
    assert json.loads(cli("plan", "--json").output)["due"] == []
    assert len(_records(repo, "triton-python")) == 2


def test_a_changed_model_is_run_by_a_local_trigger(cli, tmp_path, monkeypatch):
    """The same through `trigger` on the embedded store, for the model."""
    repo = _repo(cli, tmp_path, monkeypatch, "transformers-vllm", "http-fastapi")
    _set(repo, "transformers-vllm", "modelName", "Qwen/Qwen2.5-1.5B-Instruct")
    dry = cli("run", "--due", "--dry-run").output
    assert "Qwen/Qwen2.5-1.5B-Instruct" in dry and "http-fastapi" not in dry
    ran = cli("trigger")
    assert ran.exit_code == 0, ran.output
    assert "registered transformers-vllm: no record under its configId" in ran.output
    assert ran.output.splitlines()[-1].startswith("1 passed, 0 failed")
    models = {json.loads(r.configJson)["modelName"] for r in _records(repo, "transformers-vllm")}
    assert models == {"openai/gpt-oss-20b", "Qwen/Qwen2.5-1.5B-Instruct"}


def test_a_changed_base_image_is_still_registered_anew_in_place(cli, repo):
    """Not an identity field: the same record, registered anew ("changed"), as before."""
    _set(repo, "http-fastapi", "baseImage", '"python:3.13-slim"')
    plan = json.loads(cli("plan", "--json").output)
    assert [(d["name"], d["reason"]) for d in plan["due"]] == [("http-fastapi", "changed")]
    ran = cli("run", "--due", "-q")
    assert "registered http-fastapi anew: catalog entry changed since its last run" in ran.output
    (record,) = _records(repo, "http-fastapi")
    assert json.loads(record.configJson)["baseImage"] == "python:3.13-slim"


def test_the_scanner_runs_the_new_identity_of_an_entry_whose_earlier_one_it_sees(monkeypatch):
    """The scanner reads no record it need not: once an entry's earlier identity is in view
    (untested, stale, blocked or running), its new identity is registered and started; an
    entry no one ever registered there is still not (its operator registers it)."""
    import boto3

    from mlcc_ci.aws.scanner import handler
    from tests.reporting import run_through
    from tests.stores import dynamo_store, pass_state_machine

    catalog = SHIPPED
    flask = catalog.get("http-flask")
    moved = replace(flask, data={**flask.data, "instanceType": "ml.m5.xlarge"})
    deployed = {e.config_id: from_entry(e) for e in (moved, catalog.get("http-fastapi"))}
    monkeypatch.setattr("mlcc_ci.aws.scanner.deployed_catalog", lambda: deployed)
    with dynamo_store() as store:
        run_through(store, flask, [("pass", "")])  # in February: stale by now
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = pass_state_machine(sfn)
        result = handler({}, None, env={"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "5"})
        assert len(result["executionArns"]) == 1
        started = store.get(moved.config_id)
        assert started is not None and started.testStatus == "running"
        assert json.loads(started.configJson)["instanceType"] == "ml.m5.xlarge"
        assert store.get(catalog.get("http-fastapi").config_id) is None
        old = store.get(flask.config_id)
        assert old.testStatus == "pass"  # the earlier identity, kept and never run again
        assert [(s["name"], s["reason"]) for s in result["skipped"]] == [
            ("http-flask", "superseded")
        ]


# -- 2. prune deletes names the catalog no longer has, never an earlier identity -------------


def test_prune_keeps_earlier_identities_and_deletes_only_names_gone(cli, repo):
    _set(repo, "triton-python", "instanceType", "ml.g5.2xlarge")
    assert cli("run", "triton-python", "-q").exit_code == 0
    assert len(_records(repo, "triton-python")) == 2
    store = _store(repo)
    retired = SHIPPED.get("http-flask")  # a name the team's catalog lacks
    store.register(from_entry(retired), "2026-01-01T00:00:00Z")
    store.close()
    url = ("--profile", "example")
    dry = cli("register", "--from-catalog", "--prune", "--dry-run", *url).output
    assert "not in the catalog: triton-python" not in dry
    assert f"not in the catalog: http-flask{' ' * 18} {retired.config_id}" in dry
    done = cli("register", "--from-catalog", "--prune", "--yes", *url)
    assert done.output.splitlines()[-1] == "deleted 1 record(s)"
    assert len(_records(repo, "triton-python")) == 2 and _records(repo, "http-flask") == []
    again = cli("register", "--from-catalog", "--prune", "--yes", *url)
    assert again.output.splitlines()[-1] == "nothing to prune"


def test_a_record_named_by_an_entrys_generator_name_is_not_pruned():
    from mlcc_ci.models import Record
    from mlcc_ci.registration import prunable

    catalog = SHIPPED
    vllm = catalog.get("transformers-vllm")
    small = replace(
        vllm, name="qwen-vllm-small", data={**vllm.data, "generatorName": "transformers-vllm"}
    )
    team = replace(catalog, entries=[small])
    records = [
        Record.registered(from_entry(vllm), "2026-01-01T00:00:00Z"),  # the alias: kept
        Record.registered(from_entry(small), "2026-01-01T00:00:00Z"),
        Record.registered(from_entry(catalog.get("http-flask")), "2026-01-01T00:00:00Z"),
    ]
    project = replace(records[2], configId="00000000000000aa", source="project")
    assert [r.deploymentConfig for r in prunable([*records, project], team)] == ["http-flask"]


# -- 3. status says how many records are earlier identities ---------------------------------


def test_status_says_how_many_records_are_earlier_identities(cli, repo):
    _set(repo, "triton-python", "instanceType", "ml.g5.2xlarge")
    _set(repo, "http-fastapi", "instanceType", "ml.m5.xlarge")
    assert cli("run", "--all", "-q").exit_code == 0
    text = cli("status").output
    assert "  Configurations:  2\n  Records:         4 (2 of earlier identities)\n" in text
    counts = json.loads(cli("status", "--json").output)
    assert (counts["total"], counts["records"], counts["earlierIdentityRecords"]) == (2, 4, 2)
    report = json.loads(cli("report", "--format", "json").output)
    shown = sum(len(c["earlierIdentities"]) for c in report["configurations"].values())
    assert shown == counts["earlierIdentityRecords"]
    assert "Earlier identities (2)" in cli("report", "--format", "markdown").output


def test_status_without_earlier_identities_says_nothing_of_them(cli, repo):
    assert "  Records:         2\n" in cli("status").output


# -- 4. plan says what the filters left, in run's words --------------------------------------


def test_plan_with_last_failed_says_nothing_failed_as_run_does(cli, repo, monkeypatch):
    filters = ("--tag", "gpu", "-k", "python", "--lf")
    said = "no previously failed configurations among --tag gpu, -k 'python' (profile example)"
    run = cli("run", *filters)
    assert run.output == f"{said}; nothing to run\n"
    plan = cli("plan", *filters).output
    assert plan.splitlines()[:2] == ["Due (0):", f"  {said}; nothing to run"]
    assert "no finished result will go stale" not in plan
    assert json.loads(cli("plan", *filters, "--json").output)["empty"] == f"{said}; nothing to run"

    # one that failed, fresh: not "nothing failed", but nothing due
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-python:deploy_test:fail")
    assert cli("run", "triton-python", "-q").exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")
    fresh = cli("plan", *filters).output
    assert re.search(r"\n  triton-python +fresh +fail-deploy_test", fresh), fresh
    assert "no previously failed" not in fresh
    due = cli("run", "--due", *filters)
    assert due.output == "nothing to run\n"
    assert json.loads(cli("plan", *filters, "--json").output)["empty"] is None


# -- 5. one spelling of a SQLite store's URL ------------------------------------------------


def test_config_status_and_clean_spell_the_store_alike(cli, repo):
    url = f"sqlite://{repo / '.mlcc-ci' / 'example-results.db'}"
    assert url.startswith("sqlite:///") and not url.startswith("sqlite:////")
    config = cli("config").output
    assert f"\nstore           {url}  (profile example, " in config
    assert json.loads(cli("config", "--json").output)["settings"]["store"]["value"] == url
    assert f"  Store:           {url}\n" in cli("status").output
    assert json.loads(cli("status", "--json").output)["store"] == url
    clean = cli("clean", "--dry-run", "--keep", "0").output
    assert f" of {url} from " in clean
    # however it is written on the command line: the same
    four = f"sqlite:///{repo / '.mlcc-ci' / 'example-results.db'}"
    assert four.startswith("sqlite:////")
    assert f"  Store:           {url}\n" in cli("status", "--store", four).output
    assert f"\nstore           {url}  (flag)" in cli("config", "--store", four).output
    assert "sqlite:////" not in cli("register", "--from-catalog", "--all", "--store", four).output


# -- selection itself -----------------------------------------------------------------------


def _reg(name: str, instance: str = "ml.m5.large", support: str = "supported"):
    from mlcc_ci.configid import config_id
    from mlcc_ci.models import Registration

    config = {"deploymentConfig": name, "instanceType": instance, "awsRegion": "us-east-1"}
    return Registration(
        configId=config_id(name, None, instance, "us-east-1", "realtime-inference"),
        configJson=json.dumps(config, sort_keys=True),
        deploymentConfig=name,
        buildStrategy="codebuild-submit",
        projectName=f"p-{name}",
        source="catalog",
        supportState=support,
    )


def test_selection_of_entries_with_no_record():
    from datetime import UTC, datetime

    from mlcc_ci.models import Record
    from mlcc_ci.selection import Policy, select

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    old = _reg("moved")  # its earlier identity, stale: in view
    moved, fresh, brand, off = (
        _reg("moved", "ml.m5.xlarge"),
        _reg("fresh"),
        _reg("brand"),
        _reg("off", support="unsupported"),
    )
    catalog = {r.configId: r for r in (moved, fresh, brand, off)}
    stale = replace(
        Record.registered(old, "2026-01-01T00:00:00Z"),
        testStatus="pass",
        lastTestTimestamp="2026-05-01T00:00:00Z",
    )
    passed = replace(
        Record.registered(fresh, "2026-01-01T00:00:00Z"),
        testStatus="pass",
        lastTestTimestamp="2026-06-01T11:00:00Z",
    )
    records = [stale, passed]

    # a stack's table: the one whose earlier identity is in view is due; the new one named
    plan = select(records, now, Policy(), catalog)
    assert [(d.record.configId, d.reason, d.detail) for d in plan.due] == [
        (
            moved.configId,
            "changed",
            f"identity changed (instance type ml.m5.large -> ml.m5.xlarge) since "
            f"{old.configId}: a new configId",
        )
    ]
    assert plan.due[0].record == Record.registered(moved, "2026-06-01T12:00:00.000Z")
    assert [(d.record.configId, d.reason) for d in plan.skipped] == [
        (old.configId, "superseded"),
        (fresh.configId, "fresh"),
    ]
    assert plan.unregistered == ["brand"]

    # a local store: the new one is due too, first (never tested), as it registers
    local = select(records, now, Policy(), catalog, new_entries=True)
    assert [(d.record.deploymentConfig, d.reason) for d in local.due] == [
        ("brand", "new"),
        ("moved", "changed"),
    ]
    assert local.unregistered == []
    # an id no one can read is not missing; MaxConcurrency holds new ones back as any other
    unreadable = select(
        records, now, Policy(), catalog, unreadable={brand.configId}, new_entries=True
    )
    assert [d.record.deploymentConfig for d in unreadable.due] == ["moved"]
    held = select(records, now, Policy(max_concurrency=1), catalog, new_entries=True)
    assert [d.record.deploymentConfig for d in held.due] == ["brand"]
    assert ("moved", "max-concurrency") in [
        (d.record.deploymentConfig, d.reason) for d in held.skipped
    ]


def test_an_entry_another_writer_keeps_a_record_of_is_not_new():
    """The generator's `do/register --ci` keys a deployment otherwise: that record stands
    for it (and runs), the catalog's configId is not registered beside it."""
    from datetime import UTC, datetime

    from mlcc_ci.models import Record
    from mlcc_ci.selection import Policy, select

    reg = _reg("http-flask")
    theirs = replace(
        Record.registered(reg, "2026-01-01T00:00:00Z"), configId="00000000000000f0", version=0
    )
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    plan = select([theirs], now, Policy(), {reg.configId: reg}, new_entries=True)
    assert [(d.record.configId, d.reason) for d in plan.due] == [("00000000000000f0", "untested")]


def test_plan_keeps_its_columns_for_the_longest_name_an_entry_may_have(repo, cli):
    """A name of 30 characters (the most an entry may have) still leaves a space before the
    reason, and every row's reason starts in one column."""
    longest = "triton-python-eu-thirtyonechar"
    assert len(longest) == 30
    assert cli("catalog", "add", longest, "--from", "triton-python").exit_code == 0
    _set(repo, longest, "instanceType", "ml.g5.2xlarge")
    _set(repo, "triton-python", "instanceType", "ml.g6.xlarge")
    shown = cli("plan")
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if line.startswith("  ") and " new " in line]
    assert {line.split()[0] for line in rows} == {longest, "triton-python"}
    assert len({line.index(" new ") for line in rows}) == 1, rows

"""`mlcc-ci plan` under the schedule confidence drives, within a budget (issue 34 item 3): the
budget's line and what it left out (text and JSON), the settings and flags that choose the
schedule and the budget, and their one-line errors."""

import json
from datetime import timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.cost import money
from mlcc_ci.models import Cost, Outcome, StageResult
from mlcc_ci.stores.base import claim, finish
from mlcc_ci.stores.open import open_store

pytestmark = pytest.mark.functional


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository of its own (a settings file), its store named by MLCC_CI_STORE."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlcc-ci.toml").write_text("")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    for name in ("MLCC_CI_SCHEDULE", "MLCC_CI_DAILY_BUDGET", "MLCC_CI_IMAGE_DIGESTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_plan_shows_the_budget_and_what_it_left_out(cli, repo):
    assert cli("register", "--from-catalog", "--all").exit_code == 0
    doc = json.loads(cli("plan", "--json", "--daily-budget", "20").output)
    budget = doc["budget"]
    due_usd = round(sum(d["estimatedCost"]["usd"] for d in doc["due"]), 4)
    assert budget["usd"] == 20.0 and budget["spentToday"] == 0.0
    assert budget["planned"] == due_usd and 0 < due_usd <= 20.0
    left_out = [d for d in doc["skipped"] if d["reason"] == "daily-budget"]
    assert budget["leftOut"] == len(left_out) > 0
    for d in left_out:
        assert d["detail"].startswith("untested; over today's $20.00 budget: $")
        assert d["detail"].endswith(f"expected, $0.00 spent, {money(due_usd)} taken by this plan")
    text = cli("plan", "--daily-budget", "20").output
    line = (
        f"  Daily budget $20.00: $0.00 spent today, ~{money(due_usd)} due now, "
        f"{money(budget['left'])} left; {len(left_out)} left out"
    )
    assert line in text.splitlines()
    assert "Nothing is due" not in text
    # a budget that leaves everything out is not idle: nothing "falls due next"
    spent = cli("plan", "--daily-budget", "0.01").output
    assert "Due (0):" in spent and "Nothing is due" not in spent
    name = left_out[0]["name"]
    assert any(x.split()[:2] == [name, "daily-budget"] for x in text.splitlines())
    # the settings file and the environment say the same as the flag
    (repo / "mlcc-ci.toml").write_text("daily-budget = 20\n")
    assert json.loads(cli("plan", "--json").output)["budget"] == budget
    (repo / "mlcc-ci.toml").write_text("")
    by_env = cli("plan", "--json", env={"MLCC_CI_DAILY_BUDGET": "20"}).output
    assert json.loads(by_env)["budget"] == budget
    assert json.loads(cli("plan", "--json").output)["budget"] is None


def _passes(
    store, name: str, count: int, last_days_ago: float, generator: str, profile: str = "default"
) -> None:
    """`count` passing runs of `name` a day apart under the default profile, the newest
    `last_days_ago`."""
    entry = load_valid_catalog().get(name)
    now = clock.now()
    for i in reversed(range(count)):
        started = now - timedelta(days=last_days_ago + i)
        record = store.get(entry.config_id)
        running = claim(store, record, f"run-{name}-{i}", clock.iso(started, ms=True))
        finish(
            store,
            running,
            Outcome(
                status="pass",
                finishedAt=clock.iso(started + timedelta(minutes=20), ms=True),
                durationSeconds=1200.0,
                stageResults={"build": StageResult("pass", 600.0)},
                profile=profile,
                generatorVersion=generator,
                estimatedCost=Cost(1.0, "test"),
            ),
        )


def test_plan_under_the_confidence_schedule_and_the_seeds(cli, repo):
    """16 passes, the last 2 days ago: due again in 3.5 days under the default schedule, due
    now under the seed's daily one; a fresh result of another generator than the pin: due
    at once under the default, fresh under the seed's."""
    assert cli("register", "--from-catalog", "--all").exit_code == 0
    pin = load_valid_catalog().defaults["generator"]["version"]
    store = open_store(f"sqlite:///{repo}/results.db")
    _passes(store, "http-flask", 16, 2, pin)
    _passes(store, "http-fastapi", 1, 0.1, "0.9.0")
    doc = json.loads(cli("plan", "--json").output)
    by_name = {d["name"]: d for d in (*doc["due"], *doc["skipped"])}
    assert by_name["http-flask"]["reason"] == "fresh"
    assert by_name["http-flask"]["detail"].endswith(
        "(every 3.5d: confidence 0.81, 16 of 16 passed)"
    )
    assert by_name["http-fastapi"]["reason"] == "changed"
    assert by_name["http-fastapi"]["detail"].startswith(f"generator 0.9.0 -> {pin} since")
    seed = json.loads(cli("plan", "--json", "--schedule", "daily").output)
    by_name = {d["name"]: d for d in (*seed["due"], *seed["skipped"])}
    assert by_name["http-flask"]["reason"] == "stale"
    assert by_name["http-flask"]["detail"].startswith("pass, last tested 4")
    assert by_name["http-fastapi"]["reason"] == "fresh"
    (repo / "mlcc-ci.toml").write_text('schedule = "daily"\n')
    assert json.loads(cli("plan", "--json").output)["due"] == seed["due"]
    # the example profile's runs are its own generator's: never compared with the pin, under
    # either profile
    (repo / "mlcc-ci.toml").write_text("")
    _passes(store, "triton-fil", 1, 0.1, "1.0.0-example", profile="example")
    for profile in ("example", "default"):
        plan = json.loads(cli("plan", "--json", "--profile", profile).output)
        changed = {d["name"] for d in plan["due"] if d["reason"] == "changed"}
        assert "triton-fil" not in changed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('schedule = "weekly"\n', "'schedule' must be 'confidence' or 'daily', not 'weekly'"),
        ("daily-budget = -1\n", "'daily-budget' must be between 0 and 1,000,000, not -1"),
        ('daily-budget = "50"\n', "'daily-budget' must be a number, not '50'"),
        ('image-digests = "yes"\n', "'image-digests' must be 'on' or 'off', not 'yes'"),
    ],
)
def test_a_wrong_schedule_setting_is_one_line_naming_the_file(cli, repo, text, message):
    (repo / "mlcc-ci.toml").write_text(text)
    result = cli("plan")
    assert result.exit_code == 2
    assert result.output == f"Error: {repo / 'mlcc-ci.toml'}: {message}\n"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MLCC_CI_DAILY_BUDGET": "lots"}, "MLCC_CI_DAILY_BUDGET must be a number, not 'lots'"),
        ({"MLCC_CI_DAILY_BUDGET": "nan"}, "MLCC_CI_DAILY_BUDGET must be between 0 and"),
        ({"MLCC_CI_SCHEDULE": "weekly"}, "MLCC_CI_SCHEDULE must be 'confidence' or 'daily'"),
        ({"MLCC_CI_IMAGE_DIGESTS": "1"}, "MLCC_CI_IMAGE_DIGESTS must be 'on' or 'off', not '1'"),
    ],
)
def test_a_wrong_schedule_variable_is_one_line(cli, repo, env, message):
    result = cli("plan", env=env)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}")
    assert len(result.output.splitlines()) == 1


def test_a_whole_number_budget_in_the_file_is_dollars(cli, repo):
    from mlcc_ci.settings import load, resolve

    (repo / "mlcc-ci.toml").write_text("daily-budget = 50\n")
    values = {s.key: v for s, v, _ in resolve(load(repo, {}), {})}
    assert values["daily-budget"] == 50.0 and isinstance(values["daily-budget"], float)
    assert (values["schedule"], values["image-digests"]) == ("confidence", "off")

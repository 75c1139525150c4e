"""Estimated costs: from the catalog's price table, unknown never 0, summed honestly."""

import json
from datetime import timedelta

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.cost import estimate, expected, money, monthly, prices_of, total
from mlcc_ci.models import Cost, Record, Run, StageResult

CATALOG = load_valid_catalog()
PRICES = prices_of(CATALOG.defaults)
VLLM = json.loads(CATALOG.get("transformers-vllm").config_json)  # ml.g6.12xlarge, us-east-1


def stages(**seconds: float) -> dict[str, StageResult]:
    return {name: StageResult("pass", s) for name, s in seconds.items()}


def test_the_catalog_price_table_is_versioned_and_dated():
    assert PRICES.version == 1 and PRICES.date == "2026-11-01" and PRICES.currency == "USD"
    assert PRICES.unbilled == {"static", "example"}
    # every supported catalog entry has a price in its region: none of them is unknown
    for entry in CATALOG.entries:
        region = entry.data["region"]
        assert region in PRICES.instances[entry.data["instanceType"]], entry.name


def test_build_minutes_and_endpoint_hours():
    cost = estimate(
        PRICES, VLLM, stages(generate=30, build=601, deploy_test=1800), profile="default"
    )
    # 601 s is 11 started minutes at $0.02 (LARGE), 1800 s is 0.5 h at $6.45 (ml.g6.12xlarge)
    assert cost.usd == 3.445  # 0.22 + 3.225
    assert cost.basis == (
        "11 min BUILD_GENERAL1_LARGE, 0.50 h ml.g6.12xlarge (price table v1 of 2026-11-01)"
    )


@pytest.mark.parametrize(
    ("seconds", "usd", "minutes"),
    [
        (0.0, 0.02, 1),  # at least one minute
        (0.001, 0.02, 1),
        (60.0, 0.02, 1),  # exactly one minute
        (60.001, 0.04, 2),  # a started minute is billed whole
        (119.999, 0.04, 2),
        (120.0, 0.04, 2),
        (3600.0, 1.2, 60),
    ],
)
def test_codebuild_bills_by_the_started_minute(seconds, usd, minutes):
    cost = estimate(PRICES, VLLM, stages(build=seconds), profile="default")
    assert (cost.usd, cost.basis) == (
        usd,
        f"{minutes} min BUILD_GENERAL1_LARGE (price table v1 of 2026-11-01)",
    )
    executor = estimate(PRICES, VLLM, {}, profile="default", run_seconds=seconds, in_executor=True)
    assert executor.usd == round(usd / 2, 4)  # MEDIUM is $0.01 a minute


def test_instance_count_compute_type_executor_and_skipped_stages():
    config = {
        **VLLM,
        "codebuildComputeType": "BUILD_GENERAL1_SMALL",
        "endpointConfig": {"initialInstanceCount": 2},
    }
    ran = {**stages(build=60, deploy_test=3600), "teardown": StageResult("skip")}
    cost = estimate(PRICES, config, ran, profile="default", run_seconds=3700, in_executor=True)
    # 1 min SMALL at $0.005, 2 instance-hours at $6.45, 62 executor minutes at $0.01 (MEDIUM)
    assert cost.usd == 13.525  # 0.005 + 12.9 + 0.62
    assert "2.00 h ml.g6.12xlarge ×2" in cost.basis and "62 min executor" in cost.basis
    skipped = {"build": StageResult("skip"), "deploy_test": StageResult("skip")}
    assert estimate(PRICES, VLLM, skipped, profile="default").usd == 0.0
    docker = {**VLLM, "buildStrategy": "docker-in-docker"}  # built inside the executor
    assert estimate(PRICES, docker, stages(build=600), profile="default").usd == 0.0


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"instanceType": "ml.p5.48xlarge"}, "no ml.p5.48xlarge price for us-east-1"),
        ({"awsRegion": "eu-west-1"}, "no BUILD_GENERAL1_LARGE price for eu-west-1"),
        ({"codebuildComputeType": "BUILD_GENERAL2_LARGE"}, "no BUILD_GENERAL2_LARGE price"),
    ],
)
def test_a_price_the_table_lacks_is_unknown_never_zero(change, why):
    cost = estimate(PRICES, {**VLLM, **change}, stages(build=60, deploy_test=60), profile="default")
    assert cost.usd is None and why in cost.basis and "price table v1 of 2026-11-01" in cost.basis
    assert money(cost.usd) == "unknown"


def test_unbilled_profiles_cost_nothing():
    cost = estimate(PRICES, VLLM, stages(build=600, deploy_test=600), profile="static")
    assert cost == Cost(0.0, "profile static runs nothing in AWS")


def test_totals_keep_unknowns_apart_and_money_reads_one_way():
    t = total([Cost(1.25), None, Cost(None, "x"), Cost(0.5)])
    assert (t.usd, t.unknown, t.counted) == (1.75, 2, 2)
    assert t.text == "$1.75 (+2 unknown)"
    assert total([None]).text == "unknown" and total([]).text == "$0.00"
    assert [money(v) for v in (0.0, 0.004, 0.005, 1234.5)] == [
        "$0.00",
        "<$0.01",
        "$0.01",
        "$1,234.50",
    ]
    assert monthly(2.0, timedelta(hours=24)) == pytest.approx(2.0 * 730 / 24, abs=0.01)
    assert monthly(None, timedelta(hours=24)) is None


def record(runs=(), config=VLLM):
    return Record(
        configId="0" * 16,
        configJson=json.dumps(config),
        deploymentConfig="transformers-vllm",
        buildStrategy="codebuild-submit",
        projectName="p",
        createdAt="2026-01-01T00:00:00Z",
        source="catalog",
        version=1,
        recentRuns=tuple(runs),
    )


def test_what_the_next_run_should_cost():
    def run(usd):
        return Run(
            "0" * 16,
            "2026-01-01T00:00:00Z",
            "r",
            "2026-01-01T01:00:00Z",
            "pass",
            1.0,
            "transformers-vllm",
            estimatedCost=Cost(usd, "x"),
        )

    timeouts = {"generate": 600, "build": 3600, "deploy_test": 1800}
    cost, how = expected(record([run(1.0), run(None), run(2.0)]), PRICES, "default", timeouts)
    assert (cost.usd, how, cost.basis) == (1.5, "mean", "mean of its last 2 runs")
    cost, how = expected(record(), PRICES, "default", timeouts)
    assert how == "at most"  # 60 min LARGE at $0.02 and 0.5 h at $6.45
    assert cost == Cost(
        4.425, "60 min BUILD_GENERAL1_LARGE, 0.50 h ml.g6.12xlarge (price table v1 of 2026-11-01)"
    )
    assert expected(record(), PRICES, "example", timeouts) == (
        Cost(0.0, "profile example runs nothing in AWS"),
        "unbilled",
    )


def test_a_bad_price_table_is_a_catalog_error(tmp_path):
    import shutil

    from mlcc_ci.catalog import load_catalog
    from mlcc_ci.resources import data_path

    folder = tmp_path / "catalog"
    shutil.copytree(data_path("catalog"), folder)
    defaults = folder / "_defaults.yaml"
    text = defaults.read_text().replace(
        "ml.m5.large: {us-east-1: 0.115", "ml.m5.large: {us-east-1: -1"
    )
    defaults.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "ml.m5.large:" in row)
    problems = load_catalog([folder]).problems
    assert len(problems) == 1, problems  # the entries inheriting it are not blamed too
    first = problems[0]
    assert first.split(": ", 1)[0].endswith(f"catalog/_defaults.yaml:{line}"), first
    assert "$.prices.instancePerHour.ml.m5.large.us-east-1" in first and "-1" in first


def test_plan_shows_what_the_due_runs_should_cost(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    assert cli("register", "--from-catalog", "--all", "--store", url).exit_code == 0
    out = cli("plan", "--store", url).output
    # Each supported entry at most: 60 min of build (LARGE, $0.02) and 1 h of deploy_test.
    #   3 on ml.g5.12xlarge ($7.09):  3 × (1.20 + 7.09)  = 24.87
    #   2 on ml.g6.12xlarge ($6.45):  2 × (1.20 + 6.45)  = 15.30
    #   7 on ml.g5.xlarge   ($1.408): 7 × (1.20 + 1.408) = 18.256
    #   1 on ml.g5.2xlarge  ($1.515):      1.20 + 1.515  =  2.715
    #   2 on ml.m5.large    ($0.115), built in docker:   2 × 0.115 = 0.23
    assert (
        "Estimated cost of what is due: $61.37 (price table v1 of 2026-11-01, "
        "15 never run: at most, by stage timeouts)"
    ) in out
    vllm = next(line for line in out.splitlines() if line.strip().startswith("transformers-vllm"))
    # at most: its build timeout in LARGE minutes and its deploy timeout in instance-hours
    assert vllm.endswith("~≤$7.65")  # 1.20 + 6.45
    doc = json.loads(cli("plan", "--json", "--store", url).output)
    due = [d["estimatedCost"]["usd"] for d in doc["due"]]
    assert (
        doc["estimatedCost"]["usd"] == pytest.approx(sum(due))
        and doc["estimatedCost"]["usd"] == pytest.approx(61.371)
        and doc["estimatedCost"]["atMost"] == 15
    )
    assert {d["costFrom"] for d in doc["due"]} == {"at most"}
    example = json.loads(cli("plan", "--json", "--profile", "example", "--store", url).output)
    assert example["estimatedCost"]["usd"] == 0.0


def test_monthly_cost_of_a_schedule():
    assert monthly(1.0, timedelta(seconds=1)) == 2628000.0  # 730 h of seconds
    assert monthly(0.001, timedelta(hours=7)) == 0.1  # 104.29 runs: to the cent
    assert monthly(1.0, timedelta(0)) is None  # no interval: no schedule
    assert monthly(None, timedelta(hours=1)) is None


def test_a_config_without_a_build_strategy_builds_in_codebuild():
    config = {k: v for k, v in VLLM.items() if k != "buildStrategy"}
    assert estimate(PRICES, config, stages(build=61), profile="default") == Cost(
        0.04, "2 min BUILD_GENERAL1_LARGE (price table v1 of 2026-11-01)"
    )


def test_a_config_with_no_region_or_no_mapping_has_no_price():
    unknown = Cost(
        None, "no BUILD_GENERAL1_LARGE price for no region in the price table v1 of 2026-11-01"
    )
    assert estimate(PRICES, {}, stages(build=61), profile="default") == unknown
    # a configJson that is no mapping is no configuration: nothing to price it by
    assert expected(record(config=[1, 2]), PRICES, "default", {"build": 60}) == (unknown, "at most")


def test_sums_and_means_keep_four_decimals():
    assert total([Cost(0.00004, "x"), Cost(0.00002, "y")]).usd == 0.0001

    def run(usd):
        return Run(
            "0" * 16,
            "2026-01-01T00:00:00Z",
            "r",
            "2026-01-01T00:00:00Z",
            "pass",
            1.0,
            "transformers-vllm",
            estimatedCost=Cost(usd, "x"),
        )

    assert expected(record([run(1.0), run(0.00003)]), PRICES, "default", {}) == (
        Cost(0.5, "mean of its last 2 runs"),
        "mean",
    )


def test_an_endpoint_or_executor_without_a_price_is_unknown_and_says_which():
    label = "in the price table v1 of 2026-11-01"
    no_endpoint = estimate(PRICES, {}, stages(deploy_test=60), profile="default")
    assert no_endpoint == Cost(None, f"no instance price for no region {label}")
    no_executor = estimate(PRICES, {"awsRegion": "mars-1"}, {}, profile="default", in_executor=True)
    assert no_executor == Cost(None, f"no executor price for mars-1 {label}")


def test_no_price_table_prices_nothing():
    from mlcc_ci.cost import Prices

    assert prices_of({}) == Prices(0, "-", "USD", {}, {}, frozenset())
    profiles = {"profiles": {"static": {"billed": False}, "aws": {"billed": True}, "x": {}}}
    assert prices_of(profiles) == Prices(0, "-", "USD", {}, {}, frozenset({"static"}))


def test_a_run_that_billed_nothing_and_a_cost_to_four_decimals():
    label = "(price table v1 of 2026-11-01)"
    assert estimate(PRICES, VLLM, {}, profile="default") == Cost(0.0, f"nothing billed ran {label}")
    # one second of ml.g6.12xlarge at $6.45 an hour
    one_second = estimate(PRICES, VLLM, stages(deploy_test=1), profile="default")
    assert one_second == Cost(0.0018, f"0.00 h ml.g6.12xlarge {label}")


def test_a_price_table_names_its_currency_or_is_in_dollars():
    table = {"version": 2, "date": "2026-01-01"}
    assert prices_of({"prices": table}).currency == "USD"
    assert prices_of({"prices": {**table, "currency": "EUR"}}).currency == "EUR"

"""One configuration's row of a report (mlcc_ci/report/configreport.py): whether it counts
as tested, passing, failing or unproven, whether its failure counts in the verdict, and
what its runs shown cost. Written for make mutation (issue 32 item 2): each test fails on a
mutant of configreport.py that changes what the report counts."""

import pytest

from mlcc_ci.models import Blocked, Cost
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.report.configreport import ConfigReport
from tests.reporting import config_report

pytestmark = pytest.mark.unit

BLOCK = Blocked("capacity", "deploy_test", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z")


def config(status: str = "pass", **fields) -> ConfigReport:
    return config_report("a", status, **{"project": "p-a", **fields})


def flags(c: ConfigReport) -> tuple[bool, bool, bool, bool, bool]:
    return (c.tested, c.passing, c.failing, c.unproven, c.counts)


def test_a_passing_configuration():
    assert flags(config("pass")) == (True, True, False, False, False)


def test_a_failing_configuration_counts_unless_quarantined_or_removed():
    assert flags(config("fail-build")) == (True, False, True, False, True)
    quarantined = config("fail-build", quarantine=Quarantine("known", "2026-12-31"))
    assert flags(quarantined) == (True, False, True, False, False)
    assert flags(config("fail-build", removed=True)) == (False, False, False, False, False)


def test_a_pass_blocked_since_is_unproven_neither_passing_nor_failing():
    assert flags(config("pass", blocked=BLOCK)) == (True, False, False, True, False)
    assert flags(config("pass", blocked=BLOCK, removed=True)) == (False,) * 5
    # a failure the infrastructure blocked since still fails
    assert flags(config("fail-build", blocked=BLOCK)) == (True, False, True, False, True)


def test_untested_unregistered_never_run_and_removed_configurations_are_not_tested():
    assert flags(config("untested")) == (False,) * 5
    assert flags(config("unregistered")) == (False,) * 5
    assert flags(config("pass", lastTest=None)) == (False, True, False, False, False)
    assert flags(config("pass", removed=True)) == (False,) * 5
    assert config("running").tested is True  # tested before, running again now
    assert config("error").tested is True and config("error").failing is False


def test_the_cost_of_the_runs_shown():
    c = config(runCosts=(Cost(0.25), Cost(None), Cost(1.0)))
    assert (c.cost_total.usd, c.cost_total.unknown, c.cost_total.counted) == (1.25, 1, 2)
    assert config().cost_total.counted == 0

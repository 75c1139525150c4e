"""`status` says where a blocked configuration is counted (issue 31, a cold trial): one
never run and blocked at once read "Blocked: 1 of the tested" beside "Untested: 1" and
"Coverage: 0.0%"."""

import pytest

from tests.teamcat import make_team, rule, run

pytestmark = [pytest.mark.functional, pytest.mark.usefixtures("team")]


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    catch_all = rule("catch-all", "infra", 10, "everything is the infrastructure")
    return make_team(cli, tmp_path, monkeypatch, catch_all)


def _blocked_line(cli) -> str:
    (line,) = [ln for ln in cli("status").output.splitlines() if ln.startswith("  Blocked:")]
    return line


def test_a_configuration_blocked_before_it_ever_ran_is_said_untested(cli, monkeypatch):
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    status = cli("status").output.splitlines()
    assert "  Tested:          0" in status and "  Untested:        1" in status
    assert _blocked_line(cli) == (
        "  Blocked:         1 by the infrastructure (counted above: 1 untested; a block is "
        "never counted as passing)"
    )


def test_a_blocked_configuration_that_passed_last_is_said_unproven(cli, monkeypatch):
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    assert _blocked_line(cli) == (
        "  Blocked:         1 by the infrastructure (counted above: 1 unproven; a block is "
        "never counted as passing)"
    )

"""How long a run may take (mlcc_ci/budget.py): each limit the stack and the runner are given,
worked out by hand from the stage timeouts. Written for make mutation (issue 32 item 2): each
test fails on a mutant of budget.py that changes a limit or a message."""

import shutil
from pathlib import Path

import pytest

from mlcc_ci.budget import Budget, budget_of, for_catalog
from mlcc_ci.catalog import load_valid_catalog

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).resolve().parent.parent / "catalog"


def test_every_limit_of_a_budget():
    found = Budget(stages_seconds=1000, teardown_seconds=300)
    # SIGTERM after every stage and a teardown, and 120 s to write the result
    assert found.run_seconds == 1000 + 300 + 120
    # install 600 + run 1420 + teardown again 300 + result 120 + post_build 120 = 2560 s,
    # 42.7 minutes: CodeBuild gets 43
    assert found.build_minutes == 43
    assert found.queued_minutes == 60
    # the Step Functions task: queued, built, and 5 minutes more
    assert found.task_seconds == (60 + 43 + 5) * 60
    assert found.state_machine_minutes == 60 + 43 + 15
    assert found.running_minutes == 60 + 43
    assert found.problems() == []


def test_the_build_minutes_are_rounded_up_only_when_not_whole():
    # nothing but the executor's own time: 600 + 120 + 120 + 120 = 960 s, 16 minutes exactly
    assert Budget(0, 0).run_seconds == 120
    assert Budget(0, 0).build_minutes == 16
    assert Budget(1, 0).build_minutes == 17
    assert Budget(60, 0).build_minutes == 17
    assert Budget(61, 0).build_minutes == 18
    # a teardown counts twice: once in the run, once after SIGTERM
    assert Budget(0, 30).build_minutes == 17
    assert Budget(0, 31).build_minutes == 18


def test_a_build_longer_than_codebuild_allows_is_a_problem():
    # 960 s of the executor's own + 27840 s of stages = 28800 s: CodeBuild's 480 minutes
    assert Budget(27840, 0).build_minutes == 480
    assert Budget(27840, 0).problems() == []
    assert Budget(27841, 0).build_minutes == 481
    assert Budget(27841, 0).problems() == [
        "the stage timeouts add up to a 481-minute build, more than CodeBuild's 480:"
        " shorten the longest entry's stages"
    ]


def test_the_budget_fits_the_longest_entry_and_the_longest_teardown():
    short = {"generate": 60, "validate": 60, "build": 60, "deploy_test": 60, "register": 60}
    long = {**short, "build": 600.5, "teardown": 30}
    found = budget_of([{**short, "teardown": 90}, long, {"teardown": 45.2}])
    # the run stages of the longest entry (rounded up), the longest teardown of any entry
    assert found == Budget(stages_seconds=841, teardown_seconds=90)
    # a stage that is not a run stage is not counted; a missing stage counts nothing
    assert budget_of([{"build": 100, "smoke": 5000, "teardown": 10.1}]) == Budget(100, 11)
    assert budget_of([{"register": 7}, {"generate": 3}]) == Budget(7, 0)
    assert budget_of([]) == Budget(0, 0)


def test_a_catalogs_budget_is_its_profiles_stage_timeouts():
    catalog = load_valid_catalog()
    # the default profile: generate 600 + validate 120 + build 3600 + deploy_test 3600
    # + register 60; teardown 900
    assert for_catalog(catalog) == Budget(7980, 900)
    # the example profile shortens generate, build and deploy_test to 60 s, teardown too
    assert for_catalog(catalog, "example") == Budget(360, 60)


def test_an_unsupported_entry_does_not_lengthen_the_budget(tmp_path):
    team = tmp_path / "catalog"
    shutil.copytree(SHIPPED, team)
    entry = team / "http-nginx.yaml"  # shipped unsupported
    text = entry.read_text()
    assert "state: unsupported" in text
    stages = "stages:\n  build:\n    timeoutSeconds: 7200\n  teardown:\n    timeoutSeconds: 3000\n"
    entry.write_text(text.replace("stages:\n", stages, 1) if "stages:\n" in text else text + stages)
    catalog = load_valid_catalog([team])
    assert not catalog.get("http-nginx").supported
    assert for_catalog(catalog) == Budget(7980, 900)
    # the same entry supported counts
    supported = entry.read_text().replace("state: unsupported", "state: supported")
    entry.write_text(supported.replace("baseImage: null", "baseImage: nginx:1.27"))
    assert for_catalog(load_valid_catalog([team])) == Budget(600 + 120 + 7200 + 3600 + 60, 3000)

"""What a sweep may delete (mlcc_ci/ownership.py), decision by decision: the names a run gives
what it creates, read back to the project exactly; the window of a finished run; a live run's
resources kept; the reason each decision gives the sweep's report. Written for make mutation
(issue 32 item 2): each test fails on a mutant of ownership.py that changes a decision."""

from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci.ownership import AFTER_RUN, NAMES, Decision, Project, decide, owner

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RUN = (T0, T0 + timedelta(minutes=30))
FLASK = Project("mlcc-ci-flask", live=False, windows=(RUN,))
DURING = T0 + timedelta(minutes=5)


def test_a_project_has_no_finished_runs_unless_told():
    assert Project("mlcc-ci-flask", live=False).windows == ()
    decision = decide("mlcc-ci-flask-endpoint-1", "endpoint", T0, [Project("mlcc-ci-flask", False)])
    assert decision == Decision(
        "mlcc-ci-flask-endpoint-1",
        "leave",
        "made outside every recorded run of mlcc-ci-flask (by hand?)",
    )


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("endpoint", "mlcc-ci-flask-endpoint-1764500000"),
        ("endpoint-config", "mlcc-ci-flask-epc-1764500000"),
        ("model", "mlcc-ci-flask-model"),
        ("model", "mlcc-ci-flask-model-1764500000"),
        ("model", "mlcc-ci-flask-batch-model"),
        ("model", "mlcc-ci-flask-batch-model-1764500000"),
        ("nested-build", "mlcc-ci-flask-build-use1"),
        ("nested-build", "mlcc-ci-flask-build-apse2"),
        ("nested-build", "mlcc-ci-flask-build-usgw1"),
    ],
)
def test_each_name_a_run_gives_is_read_back_to_its_project(kind, name):
    assert owner(name, kind, [FLASK]) is FLASK
    assert decide(name, kind, DURING, [FLASK]) == Decision(
        name, "delete", "left by a finished run of mlcc-ci-flask"
    )


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        # not the shape the kind's runs give
        ("endpoint", "mlcc-ci-flask-endpoint-"),
        ("endpoint", "mlcc-ci-flask-endpoint-12a"),
        ("endpoint", "mlcc-ci-flask-endpoint-1-copy"),
        ("endpoint", "x-mlcc-ci-flask-endpoint-1"),
        ("endpoint", "-endpoint-1"),
        ("endpoint", "mlcc-ci-flask-epc-1"),
        ("endpoint-config", "mlcc-ci-flask-epc-"),
        ("endpoint-config", "mlcc-ci-flask-epc-1b"),
        ("endpoint-config", "mlcc-ci-flask-endpoint-1"),
        ("model", "mlcc-ci-flask-model-"),
        ("model", "mlcc-ci-flask-model-1x"),
        ("model", "mlcc-ci-flask-models"),
        ("model", "mlcc-ci-flask-batchmodel"),
        ("model", "mlcc-ci-flask-batch-model-"),
        ("nested-build", "mlcc-ci-flask-build-"),
        ("nested-build", "mlcc-ci-flask-build-use"),
        ("nested-build", "mlcc-ci-flask-build-1"),
        ("nested-build", "mlcc-ci-flask-build-use1x"),
        ("nested-build", "mlcc-ci-flask-build-USE1"),
        ("nested-build", "mlcc-ci-flask-build-use1-old"),
    ],
)
def test_a_name_no_run_gives_is_left_alone(kind, name):
    project = Project("mlcc-ci-flask", live=False, windows=(RUN,))
    assert owner(name, kind, [project]) is None
    assert decide(name, kind, DURING, [project]) == Decision(
        name, "leave", "no registered project's runs name it"
    )


def test_the_project_is_read_out_of_the_name_exactly_never_as_a_prefix():
    short = Project("mlcc-ci", live=False, windows=(RUN,))
    flask = Project("mlcc-ci-flask", live=False, windows=(RUN,))
    # a record named mlcc-ci does not own mlcc-ci-flask's endpoint
    assert owner("mlcc-ci-flask-endpoint-1", "endpoint", [short]) is None
    assert owner("mlcc-ci-flask-endpoint-1", "endpoint", [short, flask]) is flask
    assert owner("mlcc-ci-endpoint-1", "endpoint", [flask, short]) is short
    # nor does mlcc-ci-flask own mlcc-ci-flask2's
    assert owner("mlcc-ci-flask2-epc-1", "endpoint-config", [flask]) is None
    # a project whose own name has the kind's word in it
    odd = Project("team-endpoint-7", live=False, windows=(RUN,))
    assert owner("team-endpoint-7-endpoint-9", "endpoint", [odd]) is odd


def test_a_batch_model_is_its_projects_even_when_the_name_reads_two_ways():
    # the generator's batch transform names its model <project>-batch-model-<time>; read
    # greedily, that is a model of a project "mlcc-ci-flask-batch", which no one registered,
    # and the sweep left every finished run's batch model alive (fixed with this test)
    name = "mlcc-ci-flask-batch-model-1764500000"
    assert owner(name, "model", [FLASK]) is FLASK
    # both readings registered: the longer project name wins, in either order
    batch = Project("mlcc-ci-flask-batch", live=True)
    assert owner(name, "model", [FLASK, batch]) is batch
    assert owner(name, "model", [batch, FLASK]) is batch
    assert decide(name, "model", DURING, [FLASK, batch]).action == "keep"
    assert owner("mlcc-ci-flask-model-1", "model", [FLASK, batch]) is FLASK


def test_a_live_run_keeps_its_resources_whenever_they_were_made():
    live = Project("mlcc-ci-flask", live=True, windows=(RUN,))
    for made in (T0 - timedelta(days=3), DURING, T0 + timedelta(days=3)):
        assert decide("mlcc-ci-flask-endpoint-1", "endpoint", made, [live]) == Decision(
            "mlcc-ci-flask-endpoint-1", "keep", "a run of mlcc-ci-flask is under way"
        )


def test_the_window_runs_from_the_start_to_ten_minutes_after_the_end():
    assert timedelta(minutes=10) == AFTER_RUN
    name = "mlcc-ci-flask-endpoint-1"
    start, end = RUN
    inside = [start, DURING, end, end + timedelta(minutes=9, seconds=59), end + AFTER_RUN]
    for made in inside:
        assert decide(name, "endpoint", made, [FLASK]).action == "delete", made
    outside = [start - timedelta(seconds=1), end + AFTER_RUN + timedelta(seconds=1)]
    for made in outside:
        decision = decide(name, "endpoint", made, [FLASK])
        assert decision == Decision(
            name, "leave", "made outside every recorded run of mlcc-ci-flask (by hand?)"
        ), made


def test_any_of_a_projects_runs_can_explain_a_resource():
    day = timedelta(days=1)
    two = Project("mlcc-ci-flask", live=False, windows=(RUN, (T0 + day, RUN[1] + day)))
    name = "mlcc-ci-flask-epc-1"
    assert decide(name, "endpoint-config", T0 + day + timedelta(minutes=1), [two]).action == (
        "delete"
    )
    assert decide(name, "endpoint-config", DURING, [two]).action == "delete"
    between = decide(name, "endpoint-config", T0 + timedelta(hours=12), [two])
    assert between.action == "leave"


def test_every_kind_has_its_name_pattern():
    assert set(NAMES) == {"endpoint", "endpoint-config", "model", "nested-build"}

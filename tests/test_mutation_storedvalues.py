"""Stored values beyond tests/test_decode.py: what a relabel to the harness kept of the status
it replaced. Written for make mutation (issue 33)."""

import pytest

from mlcc_ci.storedvalues import failure

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("fail-build", "fail-build"),
        ("fail-deploy_test", "fail-deploy_test"),
        ("pass", ""),  # only a failed status is one a relabel replaces
        ("error", ""),
        (7, ""),
        (None, ""),
    ],
)
def test_a_relabelled_failure_keeps_the_failed_status_it_replaced(stored, read):
    found = failure({"class": "harness", "stage": "build", "statusBefore": stored})
    assert found is not None and (found.cls, found.statusBefore) == ("harness", read)

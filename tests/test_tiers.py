"""`make test`'s runner (scripts/tiers.py): the twin tier runs at the same time as the rest,
its output kept apart and shown after the rest's, and either's failure fails the whole."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.functional


def _load_script():
    spec = importlib.util.spec_from_file_location("tiers_script", REPO / "scripts" / "tiers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiers = _load_script()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_twin_runs_while_the_rest_does_and_its_output_comes_after(tmp_path, capfd):
    started = tmp_path / "twin-started"
    # the rest ends only once the twin has started: run one after the other, it never would
    rest = _python(
        "import pathlib, time\n"
        f"while not pathlib.Path({str(started)!r}).exists(): time.sleep(0.01)\n"
        "print('rest: 2279 passed')"
    )
    twin = _python(
        f"import pathlib; pathlib.Path({str(started)!r}).touch(); print('twin: 33 passed')"
    )
    log = tmp_path / "logs" / "tier.log"
    assert tiers.run_beside(rest, twin, log) == 0
    out = capfd.readouterr().out
    assert out.index(f"its output, shown at the end: {log}") < out.index("rest: 2279 passed")
    assert out.index("rest: 2279 passed") < out.index(f" twin tier ({log}) ")
    assert out.index(f" twin tier ({log}) ") < out.index("twin: 33 passed")
    assert log.read_text() == "twin: 33 passed\n"


@pytest.mark.parametrize(
    ("rest_code", "twin_code", "status"),
    [(0, 3, 3), (1, 0, 1), (1, 3, 1)],
)
def test_either_tiers_failure_is_the_runs(tmp_path, capfd, rest_code, twin_code, status):
    rest = _python(f"raise SystemExit({rest_code})")
    twin = _python(f"print('twin said this'); raise SystemExit({twin_code})")
    assert tiers.run_beside(rest, twin, tmp_path / "tier.log") == status
    assert "twin said this" in capfd.readouterr().out

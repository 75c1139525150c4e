"""The Lambda's wheel cache follows the requirements it was filled for: a cache an older
mlcc-ci filled (before google-re2 was needed, say) is filled again, never used short."""

import hashlib

import pytest

from mlcc_ci.stack import assets

pytestmark = pytest.mark.functional


def _cache(tmp_path, monkeypatch, marker: str | None):
    monkeypatch.setenv(assets.WHEELS_ENV, str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # a download here fails at once, offline
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    wheels = tmp_path / f"py{assets.LAMBDA_PYTHON}"
    wheels.mkdir()
    (wheels / "PyYAML-6.0-py3-none-any.whl").write_bytes(b"")
    if marker is not None:
        (wheels / ".downloaded").write_text(marker)
    return wheels


def test_a_cache_filled_for_other_requirements_is_filled_again(tmp_path, monkeypatch):
    _cache(tmp_path, monkeypatch, "")  # an older mlcc-ci's marker: its requirements unknown
    with pytest.raises(RuntimeError, match="downloading the Lambda's dependencies failed"):
        assets.download_wheels()


def test_a_cache_filled_for_these_requirements_is_used_as_it_is(tmp_path, monkeypatch):
    digest = hashlib.sha256(assets.REQUIREMENTS.read_bytes()).hexdigest()
    wheels = _cache(tmp_path, monkeypatch, digest + "\n")
    assert assets.download_wheels() == wheels


def test_a_folder_of_wheels_without_a_marker_is_taken_as_given(tmp_path, monkeypatch):
    wheels = _cache(tmp_path, monkeypatch, None)
    assert assets.download_wheels() == wheels

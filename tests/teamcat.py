"""A team's catalog with one failure rule, run through the command line on a SQLite store:
what the tests of blocks, suspects and retries share (issue 31)."""

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.stores.sqlite import SqliteStore

FLASK = load_valid_catalog().get("http-flask").config_id


def rule(name: str, cls: str, retries: int, hint: str) -> str:
    """A `_failures.yaml` of one rule matching any failure (a catch-all)."""
    return (
        "rules:\n"
        f"  - name: {name}\n"
        f"    class: {cls}\n"
        "    stages: [any]\n"
        "    pattern: '(.)'\n"
        f"    retry: {{count: {retries}, backoffSeconds: 0}}\n"
        f"    hint: '{hint}'\n"
    )


def make_team(cli, tmp_path, monkeypatch, rules: str):
    """`catalog init` of http-flask with `rules`, in use through MLCC_CI_CATALOG, its
    results in tmp_path/results.db."""
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    monkeypatch.delenv("MLCC_CI_SUSPECT_ROUNDS", raising=False)
    folder = tmp_path / "team"
    assert cli("catalog", "init", str(folder), "http-flask").exit_code == 0
    (folder / "_failures.yaml").write_text(rules)
    monkeypatch.setenv("MLCC_CI_CATALOG", str(folder))
    return folder


def run(cli, monkeypatch, fault=""):
    """One run of http-flask with the example profile, `fault` injected (MLCC_CI_FAULT)."""
    if fault:
        monkeypatch.setenv("MLCC_CI_FAULT", fault)
    else:
        monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    return cli("run", "http-flask", "--profile", "example", "-q")


def stored(tmp_path):
    """http-flask's history (newest first) and record."""
    store = SqliteStore(tmp_path / "results.db")
    try:
        return store.history(FLASK), store.get(FLASK)
    finally:
        store.close()

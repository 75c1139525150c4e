"""One configuration and its history (`report NAME`, `status NAME`): the report model's own
view of it, and its runs from the history, newest first. Shown as text by onetext.py and as
JSON by jsondoc.py (`render.view` chooses)."""

from collections.abc import Sequence
from dataclasses import dataclass

from mlcc_ci.catalog import Catalog
from mlcc_ci.constants import FAILABLE_STAGES
from mlcc_ci.models import Run
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.stores.base import ResultsStore

HISTORY_RUNS = 20  # the runs `report NAME` lists


@dataclass(frozen=True)
class One:
    config: ConfigReport
    runs: Sequence[Run]  # newest first, with their errors


def find(report: Report, catalog: Catalog, name: str) -> ConfigReport:
    """The configuration called `name` (or by the generator's name for it); an unknown name
    is the catalog's own error, with its did-you-mean."""
    by_name = {c.name: c for c in report.configurations}
    if name in by_name:
        return by_name[name]
    return by_name[catalog.get(name).name]  # raises NotFound for an unknown name


def config_ids(config: ConfigReport) -> list[str]:
    """Every record the configuration's runs came from, its primary one first."""
    ids = [config.configId] if config.configId else []
    for run in config.history:
        if run.configId not in ids:
            ids.append(run.configId)
    return ids


def history(store: ResultsStore, config: ConfigReport, limit: int = HISTORY_RUNS) -> list[Run]:
    """The configuration's finished runs, from every record it has, newest first."""
    runs = [run for config_id in config_ids(config) for run in store.history(config_id, limit)]
    runs.sort(key=lambda run: run.startedAt, reverse=True)
    return runs[:limit]


def failed_stage(run: Run) -> str | None:
    failed = [s for s in FAILABLE_STAGES if (r := run.stageResults.get(s)) and r.status == "fail"]
    return failed[0] if failed else None

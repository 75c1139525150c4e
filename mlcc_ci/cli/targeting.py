"""The records a run takes (`run`, `trigger`): what was done to find them said on standard
error."""

from typing import Any

import click


def choose_targets(
    catalog: Any,
    store: Any,
    policy: Any,
    *,
    names: tuple[str, ...] = (),
    due: bool = False,
    config_id: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    picker: Any = None,
    inputs: Any = None,
) -> Any:
    """The records to run (targets.py), what was done to find them said on standard
    error."""
    from mlcc_ci import targets

    if config_id:
        chosen = targets.claimed(store, config_id, run_id)
    elif due:
        chosen = targets.due(
            catalog, store, policy, dry_run=dry_run, picker=picker, **_given(inputs=inputs)
        )
    else:
        chosen = targets.named(catalog, store, names, dry_run=dry_run, picker=picker)
    for note in chosen.notes:
        click.echo(note, err=True)
    return chosen


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def select_targets(catalog: Any, store: Any, policy: Any, **how: Any) -> list[Any]:
    """The records to run: one claimed record, what is due, or the named (default: all
    supported) catalog entries, registered first."""
    return list(choose_targets(catalog, store, policy, **how).records)

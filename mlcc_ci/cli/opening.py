"""What a command reading or writing results works on: the catalog, the profile and the
store they imply, and a configuration named on the command line."""

from typing import Any


def open_for(
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
    *,
    create: bool = False,
    filters: Any = None,
) -> Any:
    """The catalog, the profile and the store it implies. Only commands that write results
    (`create`) make a new SQLite store; the others say there is none. `filters` (--tag, -k)
    are checked against the catalog first: a mistyped one opens no store."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.picking import check
    from mlcc_ci.profiles import load_profile, profile_store
    from mlcc_ci.stores.open import open_store

    catalog = load_valid_catalog()
    profile = load_profile(catalog, profile_name)
    if filters is not None:
        check(filters, catalog)
    store = open_store(
        None if table else profile_store(profile, store_url), table=table, create=create
    )
    store.check()
    return catalog, profile, store


def resolve_name(catalog: Any, store: Any, name: str) -> tuple[str, str]:
    """The configuration's name and configId: a catalog entry, else a record of that name
    (a project's own configuration); else the catalog's did-you-mean."""
    from mlcc_ci.errors import NotFound

    try:
        entry = catalog.get(name)
        return str(entry.name), str(entry.config_id)
    except NotFound:
        custom = next((r for r in store.records() if r.deploymentConfig == name), None)
        if custom is None:
            raise
        return name, str(custom.configId)

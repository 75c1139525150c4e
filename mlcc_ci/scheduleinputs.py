"""What the schedule knows beyond the store (cadence.Inputs) where mlcc-ci itself selects:
`plan`, `run --due` and `trigger` with a local store. The scanner makes its own
(aws/scanner.py), from what the stack packaged.

- The generator version now: the catalog's pin, for a profile whose generate stage runs the
  pinned generator (it checks for it: `checks.generate: [generator]`, as `default` and
  `static` do); none for another (the `example` profile's generator is its own).
- Base image digests: looked up in their registries (registry.py) with `image-digests = "on"`
  (MLCC_CI_IMAGE_DIGESTS), only for the images a change check needs, once per command; off,
  nothing is looked up. The same setting has each run record the digest it built on.
- Prices: what `plan` shows as each due configuration's expected cost (planview.due_cost:
  the mean of its recent runs, or at most what its stage timeouts allow).
"""

from typing import Any

from mlcc_ci.cadence import Inputs
from mlcc_ci.models import Record


def runs_pinned(profile: Any) -> bool:
    """Whether `profile`'s generate stage runs the catalog's pinned generator."""
    return "generator" in (profile.checks.get("generate") or ())


def local(catalog: Any, profile: Any, image_digests: str = "off") -> Inputs:
    from mlcc_ci.planview import due_cost
    from mlcc_ci.registry import Lookups

    def price(record: Record) -> float | None:
        try:
            return due_cost(record, catalog, profile)[0].usd
        except (ValueError, KeyError, TypeError):  # a record whose configJson says nothing
            return None

    version = profile.generator.version if runs_pinned(profile) else None
    if image_digests != "on":
        return Inputs(generator_version=version or None, price=price, profile=profile.name)
    lookups = Lookups()
    return Inputs(
        generator_version=version or None,
        digests=lookups,
        lookup_errors=lookups.errors,
        price=price,
        profile=profile.name,
    )

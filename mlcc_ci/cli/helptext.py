"""Help that comes from the catalog in use, read only when help is asked for."""

from typing import Any

import click


def profile_names() -> list[str]:
    """The profiles the catalog in use defines (--catalog, the settings file, the shipped
    one); none when it cannot be read (the command itself will then say why)."""
    from mlcc_ci.catalog import load_catalog
    from mlcc_ci.errors import MlccError

    try:
        profiles = load_catalog().defaults.get("profiles")
    except (MlccError, OSError):
        return []
    return [str(name) for name in profiles] if isinstance(profiles, dict) else []


PROFILE_HELP = (
    "Run profile from the catalog defaults{profiles}. It also picks the store when neither "
    "--store nor MLCC_CI_STORE is given."
)


class ProfileOption(click.Option):
    """`--profile NAME`, whose help lists the catalog's own profiles where it says
    `{profiles}`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help", PROFILE_HELP)
        super().__init__(*args, **kwargs)
        self.template = self.help or ""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        names = profile_names()
        self.help = self.template.format(profiles=f" ({', '.join(names)})" if names else "")
        return super().get_help_record(ctx)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in profile_names() if n.startswith(incomplete)]

"""Settings the harness writes into a generated project's do/config before it builds.

A person running the generated scripts answers prompts and keeps what they chose in
do/config; a run has no one to answer, so the profile names the settings up front
(`projectConfig:` in the catalog defaults) and they are written in one marked block at the
end of do/config, where they win over what the generator wrote. Values may use
`{projectName}`, and `{regionCode}` (the run's region, short: naming.region_code). Writing
twice replaces the block.
"""

import re
from collections.abc import Mapping
from pathlib import Path

from mlcc_ci import naming
from mlcc_ci.files import write_atomic

BEGIN = "# >>> mlcc-ci: settings for an unattended run"
END = "# <<< mlcc-ci"
_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_BLOCK = re.compile(rf"\n?{re.escape(BEGIN)}\n.*?{re.escape(END)}\n", re.S)


def render(settings: Mapping[str, str], project_name: str, region: str | None = None) -> str:
    lines = [BEGIN]
    for key, template in settings.items():
        if not _KEY.match(key):
            raise ValueError(f"projectConfig key {key!r} is not a shell variable name")
        value = naming.expand(template, project_name, region)
        if any(ch in value for ch in '"$`\\\n'):
            raise ValueError(
                f"projectConfig {key}: {value!r} holds a character do/config would expand"
            )
        lines.append(f'export {key}="{value}"')
    lines.append(END)
    return "\n".join(lines) + "\n"


def apply(
    project: Path, settings: Mapping[str, str], project_name: str, region: str | None = None
) -> None:
    """Write `settings` into `project`/do/config (replacing an earlier block)."""
    if not settings:
        return
    path = project / "do" / "config"
    text = _BLOCK.sub("\n", path.read_text(encoding="utf-8"))
    if not text.endswith("\n"):
        text += "\n"
    mode = path.stat().st_mode & 0o777
    write_atomic(path, (text + "\n" + render(settings, project_name, region)).encode(), mode)

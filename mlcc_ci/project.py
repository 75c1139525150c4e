"""Install mlcc-ci's drop-in scripts (do/register, do/ci) into a generated project."""

import os
from pathlib import Path

from mlcc_ci.errors import UsageError
from mlcc_ci.files import write_atomic

SCRIPTS = Path(__file__).resolve().parent / "scripts"
DROP_INS = ("register", "ci")
MARKER = "drop-in from mlcc-ci"


def install_scripts(project: Path) -> list[str]:
    """Copy the drop-ins into PROJECT/do; a project's own script is kept as NAME.project."""
    do = project / "do"
    if not do.is_dir():
        raise UsageError(f"{project}: no do/ folder here; is it a generated project?")
    if do.is_symlink() or not do.resolve().is_relative_to(project.resolve()):
        raise UsageError(f"{do} leads outside the project (a symlink); not writing there")
    done: list[str] = []
    for name in DROP_INS:
        source = SCRIPTS / name
        if not source.is_file():
            continue
        target = do / name
        ours = (
            target.is_file()
            and not target.is_symlink()
            and MARKER in target.read_text(errors="replace")
        )
        if (target.exists() or target.is_symlink()) and not ours:
            # a symlink is kept as the link it is, never written through
            os.replace(target, do / f"{name}.project")
            done.append(f"kept the project's do/{name} as do/{name}.project")
        write_atomic(target, source.read_bytes(), 0o755)
        done.append(f"installed do/{name}")
    return done

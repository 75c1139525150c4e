"""Install mlcc-ci's drop-in scripts (do/register, do/ci) into a generated project."""

import shutil
from pathlib import Path

from mlcc_ci.errors import UsageError

SCRIPTS = Path(__file__).resolve().parent / "scripts"
DROP_INS = ("register", "ci")
MARKER = "drop-in from mlcc-ci"


def install_scripts(project: Path) -> list[str]:
    """Copy the drop-ins into PROJECT/do; a project's own script is kept as NAME.project."""
    do = project / "do"
    if not do.is_dir():
        raise UsageError(f"{project}: no do/ folder here; is it a generated project?")
    done: list[str] = []
    for name in DROP_INS:
        source = SCRIPTS / name
        if not source.is_file():
            continue
        target = do / name
        if target.is_file() and MARKER not in target.read_text(errors="replace"):
            kept = do / f"{name}.project"
            target.replace(kept)
            done.append(f"kept the project's do/{name} as do/{name}.project")
        shutil.copyfile(source, target)
        target.chmod(0o755)
        done.append(f"installed do/{name}")
    return done

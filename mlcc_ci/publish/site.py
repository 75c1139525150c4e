"""`mlcc-ci publish`: a static site of every configuration's confidence, written whole into
a folder that replaces the old one.

    index.html                 every configuration: level, confidence (search, filter)
    configs/NAME.html          one per configuration: its runs, trend, what it passed with
    badges/NAME.svg            one per configuration, shields.io's flat style
    confidence.json            the same as `mlcc-ci confidence --json`, with each
                               configuration's page and badge
    confidence.schema.json     its JSON Schema (schema/confidence.schema.json)
    site.css, site.js          shared by the pages
    .nojekyll, .mlcc-ci-site   GitHub Pages serves every file; the folder is a site this wrote

Links are relative and no page fetches another file, so it opens from the file system as
from any static host. It is written into a new folder beside the output, which then takes
the output's place: a publish that fails leaves the old site whole. A folder that exists,
is not empty and is not such a site is refused, never replaced.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from mlcc_ci import clock
from mlcc_ci.assessing import WINDOW, Assessed, Source, document
from mlcc_ci.confidence import Window
from mlcc_ci.errors import HarnessError, UsageError
from mlcc_ci.publish import pages
from mlcc_ci.publish.badge import level_badge
from mlcc_ci.resources import data_path

MARKER = ".mlcc-ci-site"
ASSETS = ("site.css", "site.js")
SCHEMA = "confidence.schema.json"
# a name kept as the file's own: lower case (no two names meet on a case-insensitive file
# system), no separator, no leading dot; any other is a hash, which has an underscore
_SAFE = re.compile(r"[a-z0-9][a-z0-9.-]{0,79}")


@dataclass(frozen=True)
class Published:
    output: Path
    configurations: int
    files: int
    bytes: int
    index_bytes: int

    def line(self) -> str:
        return (
            f"published {self.configurations} configurations to {self.output} "
            f"({self.files} files, {_size(self.bytes)}; index.html {_size(self.index_bytes)})"
        )


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def file_stem(name: str) -> str:
    """The file name (without suffix) of a configuration's page and badge: its name when
    that is safe everywhere, else `h_` and a hash of it."""
    if _SAFE.fullmatch(name):
        return name
    return "h_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def links_of(assessed: Sequence[Assessed]) -> dict[str, dict[str, str]]:
    """Each configuration's page and badge, relative to the site's root, by name."""
    found = {}
    for a in assessed:
        stem = file_stem(a.confidence.name)
        found[a.confidence.name] = {"page": f"configs/{stem}.html", "badge": f"badges/{stem}.svg"}
    return found


def site_files(
    assessed: Sequence[Assessed],
    now: datetime,
    *,
    badge_label: str = "mlcc-ci",
    window: Window = WINDOW,
    source: Source | None = None,
) -> dict[str, bytes]:
    """Every file of the site: relative path -> content."""
    links = links_of(assessed)
    generated = clock.iso(now)
    files: dict[str, bytes] = {}

    def put(path: str, text: str) -> None:
        files[path] = text.encode("utf-8", "replace")  # a lone surrogate a store kept: '?'

    put("index.html", pages.index(assessed, links, generated, window, source))
    for a in assessed:
        link = links[a.confidence.name]
        put(link["page"], pages.config_page(a, link, generated, window, source))
        label = badge_label.replace("{name}", a.confidence.name)
        put(link["badge"], level_badge(label, a.confidence.level))
    doc = document(assessed, now, window, links, source)
    # one configuration a line: compact at 10,000, still readable and diffable
    items = cast(list[dict[str, object]], doc.pop("configurations"))
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    head = json.dumps(doc, ensure_ascii=False)[:-1]
    put("confidence.json", f'{head}, "configurations": [\n' + ",\n".join(lines) + "\n]}\n")
    files[SCHEMA] = (data_path("schema") / SCHEMA).read_bytes()
    for asset in ASSETS:
        files[asset] = (data_path("reports") / asset).read_bytes()
    files[".nojekyll"] = b""
    files[MARKER] = (
        b"A site `mlcc-ci publish` wrote: the next publish to this folder replaces it whole.\n"
    )
    return files


def publish_site(
    assessed: Sequence[Assessed],
    output: Path,
    now: datetime,
    *,
    badge_label: str = "mlcc-ci",
    window: Window = WINDOW,
    source: Source | None = None,
) -> Published:
    """Write the site of `assessed` (assessing.assess_store) to `output`, replacing the
    site an earlier publish wrote there. `badge_label`: the badges' left side, `{name}`
    the configuration's name. A folder that is not such a site, or a file, is a
    UsageError, as is a folder that cannot be written."""
    unknown = sorted(set(re.findall(r"\{[^{}]*\}", badge_label)) - {"{name}"})
    if unknown:
        said = "is not a placeholder" if len(unknown) == 1 else "are not placeholders"
        raise UsageError(f"--badge-label: {', '.join(unknown)} {said} (the one there is: {{name}})")
    target = _target(output)
    files = site_files(assessed, now, badge_label=badge_label, window=window, source=source)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    except OSError as exc:
        raise HarnessError(f"cannot write the site to {output}: {exc.strerror}") from None
    try:
        _write(fresh, files, _mode_of(target))
        _swap(fresh, target)
    except OSError as exc:  # the disk, not the user: exit 3 (HarnessError)
        raise HarnessError(f"cannot write {_shown(exc, fresh, output)}: {exc.strerror}") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)  # gone already once it took the place
    return Published(
        output,
        len(assessed),
        len(files),
        sum(len(v) for v in files.values()),
        len(files["index.html"]),
    )


def _shown(exc: OSError, fresh: Path, output: Path) -> str:
    """The file a write failed on as the user knows it: inside the site asked for, never the
    temporary folder it is written in first."""
    failed = Path(str(exc.filename or ""))
    if failed.is_relative_to(fresh) and failed != fresh:
        return str(output / failed.relative_to(fresh))
    return str(output)


def _target(output: Path) -> Path:
    """The folder to replace: `output` (a link's target), checked to be new, empty or a
    site this wrote."""
    target = Path(os.path.abspath(output))
    if target.is_symlink():
        target = target.resolve()
    if not target.exists():
        return target
    if not target.is_dir():
        raise UsageError(f"{output}: exists and is not a folder; give a folder for the site")
    if (target / MARKER).is_file() or not any(target.iterdir()):
        return target
    raise UsageError(
        f"{output}: a folder mlcc-ci publish did not write (no {MARKER}); give a new or "
        "empty folder, never replaced"
    )


def _mode_of(target: Path) -> int:
    """The new folder's permissions: the old one's, else what a new folder has (mkdtemp
    makes it 0700, which a web server could not read)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o777 & ~mask


def _write(root: Path, files: dict[str, bytes], mode: int) -> None:
    os.chmod(root, mode)
    made: set[Path] = set()
    for relative, content in files.items():
        path = root / relative
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(content)


def _swap(fresh: Path, target: Path) -> None:
    """`fresh` takes `target`'s place; the old site goes once it has."""
    if not target.exists():
        os.rename(fresh, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, old / "site")
    try:
        os.rename(fresh, target)
    except OSError:
        os.rename(old / "site", target)  # the old site back where it was
        os.rmdir(old)
        raise
    shutil.rmtree(old, ignore_errors=True)

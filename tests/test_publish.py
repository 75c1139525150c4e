"""`mlcc-ci confidence` and `mlcc-ci publish` (issue 34 items 1 and 2): each configuration's
confidence read from a store as the report reads it (mlcc_ci/assessing.py), and the static
site of it (mlcc_ci/publish/): its badges, its escaping, its schema, its links, how it
replaces an earlier site and refuses a folder it did not write, and in Chromium from file://.
"""

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from mlcc_ci import clock
from mlcc_ci.assessing import Assessed, assess_store, trend
from mlcc_ci.confidence import Window, assess
from mlcc_ci.models import Run
from mlcc_ci.publish import site
from mlcc_ci.publish.badge import COLOURS, PADDING, badge, level_badge, text_width
from mlcc_ci.resources import data_path
from mlcc_ci.settings import state_dir
from mlcc_ci.stores.sqlite import SqliteStore
from tests.confidencestore import play, scenario
from tests.stores import registration

NOW = clock.now()
HOSTILE = "<script>window.__xss=1</script>\"'&<img src=x onerror=window.__xss=2>/../x"
CHROMIUM = "/usr/bin/chromium"


def schema() -> dict:
    return json.loads((data_path("schema") / "confidence.schema.json").read_text())


def validate(doc: dict) -> None:
    import jsonschema

    jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(doc)


def run(day: int, status: str = "pass", **fields) -> Run:
    """A run `day` days before NOW."""
    started = NOW - timedelta(days=day)
    return Run(
        configId="c1",
        startedAt=clock.iso(started),
        runId=f"r{day}",
        finishedAt=clock.iso(started + timedelta(minutes=30)),
        status=status,
        durationSeconds=1800.0,
        deploymentConfig="x",
        **fields,
    )


def assessed(name: str, runs: list[Run], supported: bool = True) -> Assessed:
    return Assessed(assess("c-" + name, name, runs, NOW), tuple(runs), supported)


# -- badges


@pytest.mark.unit
def test_badge_widths_follow_shields_verdana_measure():
    # shields' own "build | passing" badge: 37 + 51 = 88 pixels
    assert round(text_width("build")) + 10 == 37
    assert 50 <= round(text_width("passing")) + 10 <= 52
    svg = badge("build", "passing", "#4c1")
    assert re.match(r'<svg xmlns="http://www.w3.org/2000/svg" width="(8[789])" height="20"', svg)
    # wider text, wider badge: each character as Verdana draws it, not one width for all
    assert text_width("mmmm") > text_width("iiii") * 3
    assert text_width("試験") == 22.0  # East Asian wide: twice an average letter
    assert text_width("é") == 7.0  # unknown to the table: an average letter


@pytest.mark.unit
@pytest.mark.parametrize("level", list(COLOURS))
def test_each_level_has_its_colour_and_width(level):
    svg = level_badge("mlcc-ci", level)
    root = ElementTree.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    label_rect, message_rect, _ = root.findall("s:g/s:rect", ns)
    assert label_rect.get("fill") == "#555"
    assert message_rect.get("fill") == COLOURS[level]
    left, right = int(label_rect.get("width")), int(message_rect.get("width"))
    assert left == round(text_width("mlcc-ci")) + 10
    assert right == round(text_width(level)) + 10
    assert int(root.get("width")) == left + right
    assert root.find("s:title", ns).text == f"mlcc-ci: {level}"
    texts = [t.text for t in root.findall("s:g/s:text", ns)]
    assert texts == ["mlcc-ci", "mlcc-ci", level, level]  # each with its shadow
    assert COLOURS == {
        "battle-tested": "#4c1",
        "passing": "#97ca00",
        "new": "#007ec6",
        "failing": "#e05d44",
        "unknown": "#9f9f9f",
    }


@pytest.mark.unit
def test_a_hostile_label_is_escaped_in_the_badge():
    hostile = "<script>x</script>\"'&<img src=x onerror=y>"
    svg = level_badge(hostile + "\x1b[31m\x00", "failing")
    assert "<script" not in svg and "<img" not in svg and "\x1b" not in svg
    root = ElementTree.fromstring(svg)  # well-formed XML: nothing broke out
    title = root.find("{http://www.w3.org/2000/svg}title").text
    assert title == hostile + "[31m: failing"  # the control characters dropped
    assert root.get("aria-label") == title
    long = level_badge("x" * 200, "new")
    assert "x" * 63 + "…" in long and "x" * 64 not in long


@pytest.mark.unit
def test_an_empty_label_makes_a_badge_of_the_message_alone():
    svg = level_badge("", "battle-tested")
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("aria-label") == "battle-tested" == root.find(f"{ns}title").text
    right = round(text_width("battle-tested")) + 2 * PADDING
    assert root.get("width") == str(right)  # no label part at all
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts == ["battle-tested", "battle-tested"]  # the message and its shadow
    labelled = ElementTree.fromstring(level_badge("mlcc-ci", "battle-tested"))
    assert [t.text for t in labelled.iter(f"{ns}text")][::2] == ["mlcc-ci", "battle-tested"]
    assert int(labelled.get("width")) > right


# -- the site's files and pages


@pytest.mark.unit
def test_a_file_is_named_after_its_configuration_only_when_that_is_safe():
    assert site.file_stem("transformers-vllm") == "transformers-vllm"
    assert site.file_stem("triton-2.0") == "triton-2.0"
    hashed = [site.file_stem(n) for n in (HOSTILE, "Upper", "a_b", "../x", ".hidden", "x" * 81)]
    assert all(re.fullmatch(r"h_[0-9a-f]{20}", h) for h in hashed)
    assert len(set(hashed)) == len(hashed)
    # Upper and upper never meet on a case-insensitive file system
    assert site.file_stem("Upper") != site.file_stem("upper") == "upper"


@pytest.mark.unit
def test_hostile_names_and_texts_are_escaped_in_every_page():
    evil = assessed(
        HOSTILE,
        [
            run(1, generatorVersion=HOSTILE, provenImage=HOSTILE),
            run(2, "fail-build", generatorVersion="1.0"),
        ],
    )
    files = site.site_files([evil, assessed("plain", [])], NOW)
    stem = site.file_stem(HOSTILE)
    for path in ("index.html", f"configs/{stem}.html"):
        page = files[path].decode()
        assert "<script>window" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page, path
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts == (['<script src="site.js">'] if path == "index.html" else [])
    page = files[f"configs/{stem}.html"].decode()
    assert page.count("&lt;script&gt;window.__xss=1") >= 4  # title, heading, tested with, runs
    ElementTree.fromstring(files[f"badges/{stem}.svg"].decode())


@pytest.mark.unit
def test_the_trend_is_the_confidence_after_each_product_run():
    runs = [run(1), run(2, "error"), run(3, "fail-build"), run(4), run(5)]
    points = trend(runs)
    assert [(p.passed, p.lower) for p in points] == [
        (True, 0.207),  # 1 of 1
        (True, 0.342),  # 2 of 2
        (False, 0.208),  # 2 of 3
        (True, 0.301),  # 3 of 4
    ]
    assert points[-1].finishedAt == runs[0].finishedAt
    # over the window ending at each run: 1 of 1, 2 of 2, then 1 of 2, 1 of 2
    assert [p.lower for p in trend(runs, Window(runs=2))] == [0.207, 0.342, 0.095, 0.095]


@pytest.mark.unit
def test_confidence_json_validates_against_its_schema_and_the_schema_has_teeth():
    import jsonschema

    items = [
        assessed("a", [run(d) for d in range(1, 15)]),
        assessed("b", [run(1, "fail-build"), run(2)], supported=False),
        assessed("c", []),
    ]
    files = site.site_files(items, NOW)
    doc = json.loads(files["confidence.json"])
    validate(doc)
    assert doc["levels"] == {"battle-tested": 1, "passing": 0, "new": 0, "failing": 1, "unknown": 1}
    assert doc["window"] == {"runs": 20, "days": 90}
    assert doc["configurations"][0] == {
        **items[0].confidence.to_json(),
        "supported": True,
        "page": "configs/a.html",
        "badge": "badges/a.svg",
    }
    assert doc["configurations"][1]["supported"] is False
    assert (
        files["confidence.schema.json"]
        == (data_path("schema") / "confidence.schema.json").read_bytes()
    )
    for broken in (
        {**doc, "configurations": [{**doc["configurations"][0], "level": "great"}]},
        {**doc, "configurations": [{**doc["configurations"][0], "confidence": 1.5}]},
        {k: v for k, v in doc.items() if k != "levels"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


# -- the command line, on the profiles' own stores


@pytest.fixture(scope="module")
def _scenario_db(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The scenario's store, built once (0.6 s of writes); each test gets a copy."""
    path = tmp_path_factory.mktemp("scenario") / "results.db"
    return path, scenario(path, NOW)


@pytest.fixture
def played(_scenario_db):
    """Put the scenario's store where a profile keeps its own; returns level -> name."""
    import shutil

    def put(profile: str) -> dict[str, str]:
        path = state_dir() / f"{profile}-results.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_scenario_db[0], path)
        return _scenario_db[1]

    return put


PROFILE_NOTES = {
    "example": "Results from the example profile prove the harness on this machine, not the "
    "containers in AWS.",
    "static": "Results from the static profile generate and validate each configuration and "
    "deploy nothing: no level here proves a deployment.",
}


@pytest.mark.functional
@pytest.mark.parametrize("profile", ["example", "static"])
def test_a_published_site_names_the_profile_and_what_it_cannot_prove(
    cli, played, profile, tmp_path
):
    played(profile)
    result = cli("publish", "--profile", profile, "--output", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    pages = [site / "index.html", *sorted((site / "configs").glob("*.html"))[:3]]
    for page in pages:
        text = page.read_text()
        assert f'from the results of the profile <b id="profile">{profile}</b>' in text
        assert f'<p class="note" id="profile-note">{PROFILE_NOTES[profile]}</p>' in text
    doc = json.loads((site / "confidence.json").read_text())
    assert doc["profile"] == {"name": profile, "note": PROFILE_NOTES[profile]}
    validate(doc)


@pytest.mark.unit
def test_a_profile_that_deploys_has_no_note():
    from mlcc_ci.assessing import Source, source_of
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.profiles import load_profile

    catalog = load_valid_catalog()
    assert source_of(load_profile(catalog, "default")) == Source("default")
    assert Source("default").to_json() == {"name": "default"}
    html = site.site_files([], NOW, source=Source("default"))["index.html"].decode()
    assert '<b id="profile">default</b>' in html and "profile-note" not in html
    assert "profile-note" not in site.site_files([], NOW)["index.html"].decode()


@pytest.mark.functional
@pytest.mark.parametrize("profile", ["example", "static"])
def test_confidence_on_a_profiles_store(cli, played, profile):
    names = played(profile)
    result = cli("confidence", "--profile", profile)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "Configuration", "Level", "Confidence", "Runs", "Passes", "Last", "pass", "Last",
        "failure", "Generator", "versions",
    ]  # fmt: skip
    # the profile the results come from, and what it cannot prove, under the table
    assert lines[-2:] == ["", f"Profile {profile}: {PROFILE_NOTES[profile]}"]
    rows = {line.split()[0]: line.split() for line in lines[2:-2]}
    assert len(rows) == 19  # every configuration of the catalog, as the report shows them
    assert rows[names["battle-tested"]][1:5] == ["battle-tested", "0.785", "14", "14"]
    assert rows[names["failing"]][1:5] == ["failing", "0.436", "6", "5"]
    assert rows[names["new"]][1:5] == ["new", "0.342", "2", "2"]
    assert rows[names["passing"]][1:5] == ["passing", "0.487", "7", "6"]
    assert rows[names["passing"]][-1] == "1.6.0"
    # one the generator does not support says so: never tested is not the same
    assert rows["marketplace"][1:] == ["unknown", "(not", "supported)", "0.000", "0", "0", "-", "-", "-"]  # fmt: skip
    assert rows["http-flask"][1] == "unknown" and rows["http-flask"][2] == "0.000"

    doc = json.loads(cli("confidence", "--profile", profile, "--json").output)
    validate(doc)
    assert doc["profile"] == {"name": profile, "note": PROFILE_NOTES[profile]}
    assert doc["levels"] == {
        "battle-tested": 1,
        "passing": 1,
        "new": 1,
        "failing": 1,
        "unknown": 15,
    }
    failing = next(c for c in doc["configurations"] if c["name"] == names["failing"])
    assert failing["lastFailure"] > failing["lastPass"]
    assert failing["images"][0] == "python@sha256:" + f"{4:064x}"  # its newest pass's


@pytest.mark.functional
def test_confidence_of_named_configurations_and_an_unknown_name(cli, played):
    names = played("example")
    result = cli("confidence", names["new"], names["failing"], "--profile", "example", "--json")
    doc = json.loads(result.output)
    assert [c["name"] for c in doc["configurations"]] == [names["new"], names["failing"]]
    wrong = cli("confidence", "transformers-vlm", "--profile", "example")
    assert wrong.exit_code == 2
    assert wrong.output == (
        "Error: no catalog entry named 'transformers-vlm' (did you mean 'transformers-vllm'?)\n"
    )


@pytest.mark.functional
def test_blocked_runs_among_the_newest_have_the_history_fill_the_window(tmp_path):
    """A record carries its newest 20 runs and, behind them, product runs until it holds 10:
    with 8 blocked and error runs among the newest, it carries 12 product runs of the 25 the
    history has. The history is read for it (and only for it): the window holds 20."""
    store = SqliteStore(tmp_path / "r.db")
    store.create_tables()
    noisy = registration(1, deploymentConfig="noisy", source="project")
    clean = registration(2, deploymentConfig="clean", source="project")
    record = play(store, noisy, "p" * 25 + "bebebebe", NOW)
    play(store, clean, "p" * 25, NOW)
    assert sum(r.product for r in record.recentRuns) == 12
    asked = []
    histories = store.histories
    store.histories = lambda ids, limit: asked.append(list(ids)) or histories(ids, limit)
    found = {a.confidence.name: a.confidence for a in assess_store(store, _catalog(), NOW)}
    store.close()
    assert asked == [[noisy.configId]]
    assert (found["noisy"].runs, found["noisy"].passes, found["noisy"].lower) == (20, 20, 0.839)
    assert (found["clean"].runs, found["clean"].level) == (20, "battle-tested")


@pytest.mark.functional
def test_a_name_the_catalog_no_longer_has_is_left_out_unless_named(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    store.create_tables()
    play(store, registration(1, deploymentConfig="gone-entry", source="catalog"), "ppp", NOW)
    play(store, registration(2, deploymentConfig="own", source="project"), "pf", NOW)
    catalog = _catalog()
    every = [a.confidence.name for a in assess_store(store, catalog, NOW)]
    assert "gone-entry" not in every and every[-1] == "own" and len(every) == 20
    named = assess_store(store, catalog, NOW, ["gone-entry"])
    store.close()
    assert [(a.confidence.name, a.confidence.level) for a in named] == [("gone-entry", "passing")]


def _catalog():
    from mlcc_ci.catalog import load_valid_catalog

    return load_valid_catalog()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.links.append(value)


def broken_links(root: Path) -> list[str]:
    """Every link of every page that is not a relative path to a file of the site."""
    broken = []
    for page in root.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text())
        assert parser.links, page
        for link in parser.links:
            path = link.split("#")[0]
            if (
                not path
                or ":" in path
                or path.startswith("/")
                or not (page.parent / path).is_file()
            ):
                broken.append(f"{page.relative_to(root)}: {link}")
    return broken


@pytest.mark.functional
@pytest.mark.parametrize("profile", ["example", "static"])
def test_publish_writes_a_site_whose_every_link_resolves(cli, played, tmp_path, profile):
    names = played(profile)
    out = tmp_path / "site"
    result = cli("publish", "--profile", profile, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"published 19 configurations to {out} (45 files, ")
    assert sorted(p.name for p in out.iterdir()) == [
        ".mlcc-ci-site", ".nojekyll", "badges", "confidence.json", "confidence.schema.json",
        "configs", "index.html", "site.css", "site.js",
    ]  # fmt: skip
    assert len(list((out / "configs").iterdir())) == len(list((out / "badges").iterdir())) == 19
    assert broken_links(out) == []
    validate(json.loads((out / "confidence.json").read_text()))
    badge_svg = (out / "badges" / f"{names['failing']}.svg").read_text()
    # a badge of a profile that proves no deployment says whose it is wherever it is shown
    assert (
        'fill="#e05d44"' in badge_svg and f"<title>mlcc-ci {profile}: failing</title>" in badge_svg
    )
    page = (out / "configs" / f"{names['passing']}.html").read_text()
    assert "<code>1.6.0</code>" in page and 'class="chart"' in page
    assert page.count('class="r-failure"') == 1 and page.count('class="r-pass"') == 6
    index = (out / "index.html").read_text()
    assert index.count('<tr data-level="unknown">') == 15
    # the four the generator does not support are marked, none of the others
    marked = re.findall(
        r'href="configs/([^"]+)\.html">[^<]*</a></td><td><span class="lv [a-z-]+">'
        r'[a-z-]+</span> <span class="muted unsupported">',
        index,
    )
    assert sorted(marked) == ["diffusors-comfyui", "diffusors-sglang", "http-nginx", "marketplace"]
    assert oct(out.stat().st_mode & 0o777) == "0o755"  # a web server can read it


@pytest.mark.functional
def test_publish_replaces_its_own_site_and_refuses_any_other_folder(cli, played, tmp_path):
    played("example")
    out = tmp_path / "site"
    out.mkdir()  # an empty folder is no one's: it is taken
    assert cli("publish", "--profile", "example", "-o", str(out)).exit_code == 0
    (out / "configs" / "left-over.html").write_text("from an older catalog")
    assert cli("publish", "--profile", "example", "-o", str(out)).exit_code == 0
    assert not (out / "configs" / "left-over.html").exists()  # replaced whole
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = cli("publish", "--profile", "example", "-o", str(mine))
    assert refused.exit_code == 2
    assert refused.output == (
        f"Error: {mine}: a folder mlcc-ci publish did not write (no .mlcc-ci-site); give a "
        "new or empty folder, never replaced\n"
    )
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    refused = cli("publish", "--profile", "example", "-o", str(a_file))
    assert refused.exit_code == 2
    assert (
        refused.output
        == f"Error: {a_file}: exists and is not a folder; give a folder for the site\n"
    )


@pytest.mark.functional
def test_a_publish_that_fails_leaves_the_old_site_whole(cli, played, tmp_path, monkeypatch):
    played("example")
    out = tmp_path / "site"
    assert cli("publish", "--profile", "example", "-o", str(out)).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    written = site._write

    def full_disk(root, files, mode):
        written(root, dict(list(files.items())[:10]), mode)  # some files, then the disk is full
        raise OSError(28, "No space left on device", str(root / "configs" / "x.html"))

    monkeypatch.setattr(site, "_write", full_disk)
    failed = cli("publish", "--profile", "example", "-o", str(out))
    assert failed.exit_code == 3  # the disk, not the user's mistake
    # the file named as in the site asked for, not in the folder it was written in first
    assert failed.output == f"Error: cannot write {out}/configs/x.html: No space left on device\n"
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


@pytest.mark.functional
def test_a_new_site_that_cannot_take_the_old_ones_place_puts_the_old_one_back(
    cli, played, tmp_path, monkeypatch
):
    import os

    played("example")
    out = tmp_path / "site"
    assert cli("publish", "--profile", "example", "-o", str(out)).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rename = os.rename

    def refused(src, dst):
        if Path(src).name.startswith(".site.new-"):  # the new site into the old one's place
            raise OSError(13, "Permission denied", str(dst))
        return rename(src, dst)

    monkeypatch.setattr(site.os, "rename", refused)
    failed = cli("publish", "--profile", "example", "-o", str(out))
    assert (failed.exit_code, failed.output) == (
        3,
        f"Error: cannot write {out}: Permission denied\n",
    )
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


@pytest.mark.functional
def test_publish_through_a_link_replaces_the_linked_site_and_keeps_the_link(cli, played, tmp_path):
    played("example")
    real = tmp_path / "www" / "site"
    link = tmp_path / "site"
    assert cli("publish", "--profile", "example", "-o", str(real)).exit_code == 0
    link.symlink_to(real)
    assert (
        cli("publish", "--profile", "example", "-o", str(link), "--badge-label", "{name}").exit_code
        == 0
    )
    assert link.is_symlink() and (real / "index.html").is_file()
    assert "<title>http-flask: unknown</title>" in (real / "badges" / "http-flask.svg").read_text()


# -- in a real browser, from the file system


@pytest.mark.browser
def test_the_published_site_in_chromium_from_file(tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    items = [
        assessed("alpha-vllm", [run(d) for d in range(1, 15)]),
        assessed("beta-vllm", [run(1, "fail-build"), run(2), run(3)]),
        assessed("gamma-triton", [run(1), run(2), run(3, "fail-build"), run(4)]),
        assessed(HOSTILE, [run(1)]),
        assessed("delta-none", []),
    ]
    out = tmp_path / "site"
    site.publish_site(items, out, NOW)
    assert broken_links(out) == []  # the hostile name's page and badge included
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((out / "index.html").as_uri())
        visible = page.locator("#configs tbody tr:visible")
        assert visible.count() == 5
        assert page.locator("#shown").inner_text() == "5 of 5 shown"
        page.fill("#search", "VLLM")
        assert [r.locator("a").inner_text() for r in visible.all()] == ["alpha-vllm", "beta-vllm"]
        page.select_option("#level", "failing")
        assert [r.locator("a").inner_text() for r in visible.all()] == ["beta-vllm"]
        assert page.locator("#shown").inner_text() == "1 of 5 shown"
        page.fill("#search", "")
        page.select_option("#level", "battle-tested")
        assert [r.locator("a").inner_text() for r in visible.all()] == ["alpha-vllm"]
        page.select_option("#level", "")
        page.fill("#search", "<script>")
        assert [r.locator("a").inner_text() for r in visible.all()] == [HOSTILE]
        assert page.evaluate("window.__xss === undefined")
        page.fill("#search", "alpha")
        page.click("text=alpha-vllm")
        page.wait_for_url("**/configs/alpha-vllm.html")
        assert page.locator("h1").inner_text().startswith("alpha-vllm")
        assert page.locator(".lv").first.inner_text() == "battle-tested"
        assert page.locator("#runs tbody tr").count() == 14
        assert page.locator("svg.chart circle").count() == 14
        # the badge, an <img> of a sibling file, was drawn
        assert page.locator("h1 img").evaluate("i => i.complete && i.naturalWidth") > 80
        shot = tmp_path / "config.png"
        page.screenshot(path=str(shot), full_page=True)
        page.click("#home")
        page.wait_for_url("**/index.html*")
        page.goto((out / "configs" / f"{site.file_stem(HOSTILE)}.html").as_uri())
        assert page.locator("h1").inner_text().startswith(HOSTILE)
        assert page.evaluate("window.__xss === undefined")
        browser.close()
    assert errors == []
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.width == 1200 and image.height > 800
        assert len(image.getcolors(1 << 16) or ()) > 20  # text, badges, the chart: not blank


@pytest.mark.functional
def test_a_record_no_one_can_read_is_named_not_published_as_never_run(cli, played, tmp_path):
    """Its level comes from its history of runs alone (the runs table keeps them): the
    table, the JSON, the site and the publish's warning say so, as the report names
    unreadable records."""
    import sqlite3

    from mlcc_ci.catalog import load_valid_catalog

    names = played("example")
    battle_tested = names["battle-tested"]
    config_id = next(e.config_id for e in load_valid_catalog().entries if e.name == battle_tested)
    with sqlite3.connect(state_dir() / "example-results.db") as db:
        db.execute("UPDATE records SET item = 'not json' WHERE configId = ?", (config_id,))
    result = cli("confidence", "--profile", "example")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(battle_tested))
    assert row.split()[1:6] == ["battle-tested", "(unreadable)", "0.785", "14", "14"]
    assert (
        f"UNREADABLE record {config_id} ({battle_tested}): the stored item is not JSON; its "
        "level is from its history (mlcc-ci store doctor)"
    ) in result.output.splitlines()
    doc = json.loads(cli("confidence", "--profile", "example", "--json").output)
    validate(doc)
    item = next(c for c in doc["configurations"] if c["name"] == battle_tested)
    assert (item["level"], item["runs"], item["unreadable"]) == (
        "battle-tested",
        14,
        "the stored item is not JSON",
    )
    assert all("unreadable" not in c for c in doc["configurations"] if c is not item)
    published = cli("publish", "--profile", "example", "--output", str(tmp_path / "site"))
    assert published.exit_code == 0
    assert (
        published.stderr == f"warning: UNREADABLE record {config_id} ({battle_tested}): "
        "the stored item is not JSON; its level is from its history (mlcc-ci store doctor)\n"
    )
    index = (tmp_path / "site" / "index.html").read_text()
    assert index.count("record unreadable</span>") == 1
    assert "The stored record of 1 configuration (marked below) cannot be read" in index
    page = (tmp_path / "site" / "configs" / f"{battle_tested}.html").read_text()
    assert (
        "its stored record cannot be read (the stored item is not JSON): its level comes from "
        "its history of runs alone"
    ) in page
    assert page.count('class="r-pass"') == 14  # its runs, from the history


@pytest.mark.functional
def test_a_badge_label_with_another_placeholder_is_refused(cli, played, tmp_path):
    played("example")
    out = tmp_path / "site"
    refused = cli("publish", "--profile", "example", "-o", str(out), "--badge-label", "{nam} {x}")
    assert (refused.exit_code, refused.output) == (
        2,
        "Error: --badge-label: {nam}, {x} are not placeholders (the one there is: {name})\n",
    )
    assert not out.exists()
    named = cli("publish", "--profile", "example", "-o", str(out), "--badge-label", "ci {name}")
    assert named.exit_code == 0
    assert "<title>ci http-flask: " in (out / "badges" / "http-flask.svg").read_text()

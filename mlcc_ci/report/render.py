"""Render a Report in one of its formats: this module only dispatches. Each format has a
module of its own, which escapes everything from logs, configs or users its way: text
(text.py), JSON (jsondoc.py), Markdown (markdown.py, a jinja2 template) and HTML (page.py, a
jinja2 template, autoescape on); the words they share are made once (cells.py,
sections.py). The names imported `as` themselves are kept here for what imported them from
here before they moved."""

import json

from mlcc_ci.catalog import Catalog
from mlcc_ci.report.cells import LogHref
from mlcc_ci.report.cells import log_link as log_link
from mlcc_ci.report.jsondoc import as_dict as as_dict
from mlcc_ci.report.jsondoc import as_json as as_json
from mlcc_ci.report.jsondoc import one_dict
from mlcc_ci.report.markdown import MD_MARKER as MD_MARKER
from mlcc_ci.report.markdown import _fit as _fit
from mlcc_ci.report.markdown import markdown as markdown
from mlcc_ci.report.markdown import md_cell as md_cell
from mlcc_ci.report.markdown import md_fence as md_fence
from mlcc_ci.report.markdown import md_text as md_text
from mlcc_ci.report.markdown import open_fence as open_fence
from mlcc_ci.report.model import Report
from mlcc_ci.report.one import One, find, history
from mlcc_ci.report.onetext import text as one_text
from mlcc_ci.report.page import html as html
from mlcc_ci.report.page import live_timeline as live_timeline
from mlcc_ci.report.page import script as script
from mlcc_ci.report.page import script_hash as script_hash
from mlcc_ci.report.text import text as text
from mlcc_ci.stores.base import ResultsStore

FORMATS = ("text", "json", "markdown", "html")


def render(report: Report, fmt: str, *, width: int = 100, log_href: LogHref | None = None) -> str:
    """`width` wraps the text format's failures; `log_href` links local logs in HTML."""
    if fmt == "text":
        return text(report, width)
    if fmt == "json":
        return as_json(report)
    if fmt == "markdown":
        return markdown(report)
    return html(report, log_href=log_href)


def view(report: Report, catalog: Catalog, store: ResultsStore, name: str, fmt: str) -> str:
    """`report NAME` and `status NAME`: the configuration `name` and its history, as text or
    (`fmt` json) JSON."""
    config = find(report, catalog, name)
    one = One(config, history(store, config))
    if fmt == "json":
        return json.dumps(one_dict(one, report), indent=2, ensure_ascii=False) + "\n"
    return one_text(one)

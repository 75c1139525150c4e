"""The generator's own required-parameter checks, asked of the installed generator (see
`missing_required`); `generatorcheck.catalog_problems` says what they find at each entry's line."""

import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from mlcc_ci.generator import GeneratorError, Installed

# The generator's own required-parameter checks, run on each config as `--config FILE
# --skip-prompts` would: its ConfigManager reads the config file's keys, fills in what it
# derives (architecture, engine, defaults), then runs the validations that refuse a missing
# parameter (src/lib/config-validator.js). Those rules are partly code, conditional on the
# architecture (modelFormat for http, modelName for diffusors), so they are asked, not copied.
# Its chatter goes to stderr; stdout carries only {name: [[key or null, message], ...]}.
_REQUIRED_SCRIPT = r"""
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const say = (...parts) => process.stderr.write(parts.join(' ') + '\n');
console.log = console.info = console.warn = console.error = say;
const url = pathToFileURL(process.argv[1] + '/src/lib/config-manager.js').href;
const { default: ConfigManager } = await import(url);
const configs = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
for (const [name, config] of Object.entries(configs)) {
    const m = new ConfigManager({ options: { 'skip-prompts': true }, args: [] });
    const keyOf = (text) => {
        const quoted = text.match(/parameter '(\w+)'/i);
        if (quoted) return quoted[1];
        const flag = text.match(/--([a-z][a-z0-9-]*)/);
        const params = Object.entries(m.parameterMatrix);
        const hit = flag && params.find(([, p]) => p.cliOption === flag[1]);
        return hit ? hit[0] : null;
    };
    try {
        m.config = m._getGeneratorDefaults();
        m.explicitConfig = {};
        m._applyJsonConfig(config);
        m.skipPrompts = true;
        const said = [
            ...m.validateConfiguration(),
            ...m.getMissingRequiredParameters().map((p) => `Required parameter '${p}' is missing`),
            ...m.validateRequiredParameters(m.getFinalConfiguration()),
        ].filter((text) => /\brequired\b/i.test(text));
        out[name] = [...new Set(said)].map((text) => [keyOf(text), text]);
    } catch (error) {
        out[name] = [[null, `the generator cannot read this configuration: ${error.message}`]];
    }
}
process.stdout.write(JSON.stringify(out));
"""


def missing_required(
    installed: Installed, configs: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[tuple[str | None, str]]]:
    """For each named config, the required parameters the generator would find missing:
    (its parameter name, or None when its message names none; its own message)."""
    if not configs:
        return {}
    node = shutil.which("node")
    if node is None:
        raise GeneratorError("node is not on PATH: the generator needs Node.js")
    try:
        result = subprocess.run(
            [node, "--input-type=module", "-e", _REQUIRED_SCRIPT, str(installed.root)],
            input=json.dumps(configs),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GeneratorError(
            f"generator {installed.version} took over 120 s to check required parameters"
        ) from None
    try:
        found = json.loads(result.stdout) if result.returncode == 0 else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        said = (result.stderr.strip().splitlines() or ["no output"])[-1][-200:]
        raise GeneratorError(
            f"cannot check required parameters with generator {installed.version} "
            f"(its ConfigManager at {installed.root} did not answer: {said})"
        )
    return {
        name: [(key if isinstance(key, str) else None, str(text)) for key, text in pairs]
        for name, pairs in found.items()
    }

# Everything a newcomer needs: `make demo` runs the matrix, `make test` runs every check.
# Each target creates its own virtualenv in .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: demo example test lint typecheck bench mutation mutation-changed clean cdk-cli synth browser venv generator generator-stack lambda-wheels twin twin-cache twin-server dist lock

# What running mlcc-ci needs (make demo, make example) ...
$(BIN)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# ... and what developing it needs: test, lint and CDK tools (make test).
$(BIN)/.installed: $(BIN)/.core
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# The real generator at work on every supported configuration: generate and validate.
demo: $(BIN)/.core
	$(BIN)/mlcc-ci generator install
	$(BIN)/mlcc-ci catalog validate
	@# exit 1 is a configuration that failed: the report below says which and why
	rc=0; $(BIN)/mlcc-ci run --all --profile static --jobs 2 || rc=$$?; \
	  $(BIN)/mlcc-ci report --profile static && [ $$rc -le 1 ]

# The whole lifecycle (build, deploy, smoke test, teardown) on 127.0.0.1, with the example
# generator: proves the harness without AWS or Docker.
example: $(BIN)/.core
	$(BIN)/mlcc-ci run --all --profile example --jobs 4
	$(BIN)/mlcc-ci report --profile example

# The sdist and the wheel a release publishes, into dist/ (the release workflow builds the
# same way); BUILD_FLAGS=--no-isolation builds with this virtualenv's hatchling, offline.
DIST ?= dist
BUILD_FLAGS ?=
dist: $(BIN)/.installed
	rm -rf $(DIST)
	$(BIN)/python -m build $(BUILD_FLAGS) --outdir $(DIST) .

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy
	$(BIN)/mypy cdk/app.py

# The CDK CLI, from npm, for `cdk synth` / `cdk deploy` (the app itself is Python).
cdk/node_modules/.installed: cdk/package.json cdk/package-lock.json
	cd cdk && npm_config_cache=$(CURDIR)/.twin/npm-cache npm ci --no-audit --no-fund --loglevel=error
	touch $@

cdk-cli: cdk/node_modules/.installed

# The region comes from the AWS profile (CDK_DEFAULT_REGION), or REGION=...; PREFIX=...
# names everything under another prefix (beside the generator's own CI stack).
synth: $(BIN)/.installed cdk-cli lambda-wheels
	cd cdk && PATH="$(abspath $(BIN)):$$PATH" CDK_DISABLE_CLI_TELEMETRY=true \
	  npx cdk synth -q --no-notices $(if $(REGION),-c region=$(REGION)) \
	  $(if $(PREFIX),-c prefix=$(PREFIX)) $(if $(TABLE),-c table=$(TABLE))

# The scanner Lambda's dependencies as wheels for its platform (and for this machine's
# Python, so the tests can import the same recipe's asset); the synth installs offline.
LAMBDA_PYTHONS := 3.12 $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cdk/build/wheels/.downloaded: mlcc_ci/stack/lambda-requirements.txt $(BIN)/.installed
	for v in $(LAMBDA_PYTHONS); do \
	  $(BIN)/python -m pip download --quiet --only-binary=:all: --platform manylinux2014_x86_64 \
	    --implementation cp --python-version $$v -d cdk/build/wheels/py$$v \
	    -r mlcc_ci/stack/lambda-requirements.txt || exit 1; \
	done
	touch $@

lambda-wheels: cdk/build/wheels/.downloaded

# The locks the executor's build installs from by hash (scripts/lock.py): the Python one in
# mlcc_ci/stack/executor-requirements.txt, npm's for the pinned generator in mlcc_ci/generator_locks/.
# Pins are kept; UPGRADE=1 takes the newest versions allowed.
lock: $(BIN)/.installed
	$(BIN)/python scripts/lock.py $(if $(UPGRADE),--upgrade)

# The pinned real generator (@aws/ml-container-creator, version in catalog/_defaults.yaml),
# installed with npm into .generator/ for the generator test tier.
generator: $(BIN)/.installed
	MLCC_CI_GENERATOR_HOME=$(CURDIR)/.generator $(BIN)/mlcc-ci generator install

# The generator's own CI stack (its infra/ci-harness), copied out of the pinned package with
# node_modules from its own package-lock, no install scripts (its esbuild bundles without):
# tests/test_cdk_beside_generator.py synthesizes it from here beside ours.
GENERATOR_STACK := .generator-stack
$(GENERATOR_STACK)/.installed: catalog/_defaults.yaml | generator
	rm -rf $(GENERATOR_STACK) && mkdir -p $(GENERATOR_STACK)
	src=$$($(BIN)/python -c 'from mlcc_ci import generator as g; from mlcc_ci.catalog import \
	  load_valid_catalog as c; print(g.find(g.pin_of(c().defaults), {g.HOME_ENV: \
	  "$(CURDIR)/.generator", "PATH": ""}).root)') && \
	  cp -R "$$src/infra/ci-harness" $(GENERATOR_STACK)/ci-harness
	cd $(GENERATOR_STACK)/ci-harness && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

generator-stack: $(GENERATOR_STACK)/.installed

# The simulated account's CodeBuild image installs mlcc-ci and the pinned generator the way
# the buildspec says, from local mirrors of PyPI and npm filled here (tests reach only
# 127.0.0.1): the wheels the executor's lock pins, and npm's cache after installing the
# pinned generator from its lock.
.twin/wheels/.downloaded: mlcc_ci/stack/executor-requirements.txt $(BIN)/.installed
	$(BIN)/python -m pip download --quiet --dest .twin/wheels --only-binary=:all: --no-deps \
	  --require-hashes -r mlcc_ci/stack/executor-requirements.txt
	touch $@

.twin/npm-cache/.filled: catalog/_defaults.yaml $(wildcard mlcc_ci/generator_locks/*.json) \
  $(BIN)/.installed
	rm -rf .twin/prime
	MLCC_CI_GENERATOR_HOME=$(CURDIR)/.twin/prime npm_config_cache=$(CURDIR)/.twin/npm-cache \
	  $(BIN)/mlcc-ci generator install
	rm -rf .twin/prime
	touch $@

# The stack extra at this virtualenv's versions: tests/test_stack_team.py installs
# mlcc-ci[stack] from a wheel into a team's virtualenv, offline, from these and the above.
STACK_PINS = $(BIN)/python -m pip freeze | grep -iE '^(aws-cdk-lib|cdk-nag|constructs)=='
.twin/stack-wheels/.downloaded: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip download --quiet --dest .twin/stack-wheels --only-binary=:all: \
	  $$($(STACK_PINS))
	touch $@

twin-cache: .twin/wheels/.downloaded .twin/npm-cache/.filled .twin/stack-wheels/.downloaded

# The AWS loop against the simulated account, alone: every supported configuration through
# the synthesized buildspec and the generator's own do-scripts, then the fault paths.
twin: lambda-wheels generator twin-cache
	$(BIN)/python -m pytest -q -m twin

# The simulated account alone, as a server on 127.0.0.1 until Ctrl-C: it prints the URL to
# give the AWS CLI (--endpoint-url) or boto3. TWIN_PORT=0 takes any free port.
TWIN_PORT ?= 0
twin-server: $(BIN)/.installed
	$(BIN)/python -m tests.twin --port $(TWIN_PORT)

# The browser test drives Debian's chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser test needs chromium: sudo apt-get install chromium" >&2; exit 1; \
	  fi; }

# Every tier but the twin on TEST_JOBS workers (pytest-xdist; a module's tests stay on one
# worker, so its fixtures, a synthesized stack say, are made once; the slowest tiers' modules
# start first, tests/conftest.py), and the twin tier beside them in a process of its own, as
# `make twin` runs it, its output in .twin/tier.log until both end (scripts/tiers.py): 11 min
# 50 s where one after the other took 13 min 10 s. Each prints its slowest tests: the suite
# is kept fast by looking.
TEST_JOBS ?= 2
test: lint typecheck cdk-cli lambda-wheels browser generator generator-stack twin-cache
	$(BIN)/python scripts/tiers.py --jobs $(TEST_JOBS)

bench: $(BIN)/.installed
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Mutation testing of the logic modules ([tool.mutmut] in pyproject.toml lists them): mutmut
# copies the project into mutants/, mutates it, and runs against each mutant the unit and
# functional tests of those modules only (the test files listed there, not the whole suite,
# to keep it fast) that reach the mutated function. Then the score of each module, with and
# without the mutants tests/mutation-equivalent.txt lists. Not part of `make test`: most of an
# hour, and a mutant that times out under load counts as killed, so its verdict would
# depend on the machine's load. Nice'd, on MUTATION_JOBS workers (the machine is shared).
MUTATION_JOBS ?= 2
mutation: $(BIN)/.installed
	nice -n 10 $(BIN)/python scripts/mutation.py --max-children $(MUTATION_JOBS)

# The same, before a release, on the modules of [tool.mutmut] changed since the last release
# tag (v*; committed, staged, edited or new files), or since SINCE=REF; with no release tag
# every module counts as changed (it says so). Nothing changed: nothing to run.
mutation-changed: $(BIN)/.installed
	nice -n 10 $(BIN)/python scripts/mutation.py --changed $(if $(SINCE),--since $(SINCE)) \
	  --max-children $(MUTATION_JOBS)

clean:
	rm -rf $(VENV) .generator .generator-stack .twin mutants build dist .pytest_cache .mypy_cache .ruff_cache cdk/node_modules cdk/build cdk/cdk.out

# Every target, one line each (`make help`); tests/test_catalog_cmd_add.py checks that each
# phony target is listed. Not the default goal: a bare `make` still sets up the virtualenv.
.PHONY: help
help:
	@printf '%-16s %s\n' \
	  venv 'the development virtualenv in .venv: mlcc-ci with its test, lint and CDK tools' \
	  demo 'the pinned generator on every supported configuration (static profile), then the report' \
	  example 'the whole lifecycle on 127.0.0.1 with the example generator: no AWS, no Docker' \
	  test 'every check: lint, typecheck and every test tier, after installing what they need' \
	  lint 'ruff check and ruff format --check' \
	  typecheck 'mypy over mlcc_ci and the CDK app' \
	  bench 'the benchmarks in benchmarks/' \
	  mutation 'mutation testing of the core, the stores, the reports and the AWS functions (most of an hour; not part of test)' \
	  mutation-changed 'mutation testing of the modules changed since the last release tag (SINCE=REF)' \
	  dist 'the sdist and the wheel a release publishes, into dist/ (BUILD_FLAGS=--no-isolation)' \
	  lock "the executor's hash-pinned Python lock and npm's generator lock (UPGRADE=1: newest)" \
	  generator 'the pinned generator, into .generator/, for the generator test tier' \
	  generator-stack "the generator's own CI stack, into .generator-stack/, for the CDK test beside it" \
	  cdk-cli 'the CDK CLI from npm, into cdk/node_modules/' \
	  synth 'cdk synth of the stack (REGION=..., PREFIX=..., TABLE=...)' \
	  lambda-wheels "the scanner Lambda's dependencies as wheels, for the synth" \
	  twin-cache 'local PyPI and npm mirrors for the simulated account' \
	  twin 'the AWS loop against the simulated account: the twin tests alone' \
	  twin-server 'the simulated account as a server on 127.0.0.1 until Ctrl-C (TWIN_PORT=0: any port)' \
	  browser "Debian's chromium, for the browser test" \
	  clean 'remove the virtualenv, installs, caches and build output' \
	  help 'this list'

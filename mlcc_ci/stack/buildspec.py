"""The executor's buildspec: install mlcc-ci and the pinned generator, then run one claimed
configuration within the run budget, and record a build that died before its run did.

Nothing is installed that a lock does not pin by hash: mlcc-ci's dependencies and its build
backend from the source asset's requirements lock (`make lock`: every file's sha256, wheels
only, so no package's build code runs), then mlcc-ci itself from the source, alone; the
generator from the package-lock shipped for the catalog's pin (`npm ci --ignore-scripts`,
sha512 integrity, mlcc_ci/generator_npm.py).
"""

from aws_cdk import aws_codebuild as codebuild

from mlcc_ci.budget import Budget
from mlcc_ci.constants import RUN_SECONDS_ENV
from mlcc_ci.stack.assets import EXECUTOR_LOCK
from mlcc_ci.stack.publishing import BUCKET_ENV, PREFIX_ENV

# The Node.js runtime the executor runs the generator with (CodeBuild's standard:7.0 image
# ships it): its major must be the pinned generator's `engines.node` (a cdk test checks it
# against the installed package).
GENERATOR_NODE_MAJOR = "24"
# The Python the executor runs mlcc-ci with: `make lock` checks the lock complete for it.
EXECUTOR_PYTHON = "3.12"
# --no-compile: a build imports a small part of what it installs (botocore's every service,
# say); Python compiles that part as it imports it, instead of pip compiling it all first
PIP = "python -m pip install --quiet --disable-pip-version-check --no-compile"
STORE = "dynamodb://$TABLE_NAME?region=$AWS_REGION&runs_table=$RUNS_TABLE_NAME"
# The orchestrator names each build's log stream prefix build/<configId>/<runId>;
# CodeBuild appends the build's UUID to it: that is the stream the run's stages point at.
LOG_STREAM_PREFIX = "build/{configId}/{runId}"
LOG_STREAM = "build/$CONFIG_ID/$RUN_ID/${CODEBUILD_BUILD_ID#*:}"
# The publish after the run leaves CodeBuild this long to end the build before its timeout,
# and is not started with less than PUBLISH_LEAST_SECONDS left: the run's own time limits
# come first (budget.py), and the next run publishes what this one could not.
PUBLISH_MARGIN_SECONDS = 60
PUBLISH_LEAST_SECONDS = 30


def publish_command(budget: Budget) -> str:
    """With PublishBucket given (publishing.py): the confidence site from the store, synced
    to s3://BUCKET/PREFIX, within what is left of the build's time (CODEBUILD_START_TIME is
    the build's start, in ms). Whatever happens, the command succeeds and says in the log
    what it did: a publish that fails or has no time changes nothing of the run."""
    deadline = budget.build_minutes * 60 - PUBLISH_MARGIN_SECONDS
    stands = "this run's result stands"
    publish = (
        'mlcc-ci publish --output "$1" --store "$2" && '
        'aws s3 sync "$1" "$3" --delete --only-show-errors'
    )
    return " ".join(
        [
            f'if [ -n "${BUCKET_ENV}" ]; then',
            f'dest="s3://${BUCKET_ENV}/${PREFIX_ENV}";',
            'site="$CODEBUILD_SRC_DIR/../mlcc-ci-site";',
            f"left=$(( ${{CODEBUILD_START_TIME:-0}} / 1000 + {deadline} - $(date +%s) ));",
            f'if [ "$left" -lt {PUBLISH_LEAST_SECONDS} ]; then',
            'echo "mlcc-ci: NOT PUBLISHED: ${left}s left of the build, too little to publish',
            f'the site to $dest; {stands} (the next run publishes it)";',
            f"elif timeout \"${{left}}s\" bash -c '{publish}'",
            f'publish "$site" "{STORE}" "$dest"; then',
            'echo "mlcc-ci: published the confidence site to $dest";',
            'else echo "mlcc-ci: PUBLISH FAILED (exit $?): the site at $dest was not updated;',
            f'{stands} (the next run publishes again)"; fi; fi',
        ]
    )


def build_spec(budget: Budget) -> codebuild.BuildSpec:
    return codebuild.BuildSpec.from_object(
        {
            "version": "0.2",
            "env": {"shell": "bash"},
            "phases": {
                "install": {
                    # the image's own Node.js 24 satisfies the pinned generator's engines
                    # field: nothing is downloaded from outside AWS
                    "runtime-versions": {
                        "python": EXECUTOR_PYTHON,
                        "nodejs": GENERATOR_NODE_MAJOR,
                    },
                    "commands": [
                        f"{PIP} --require-hashes --only-binary=:all: --no-deps "
                        f"-r {EXECUTOR_LOCK.name}",
                        # the backend is in the lock: nothing is fetched to build mlcc-ci
                        f"{PIP} --no-deps --no-build-isolation .",
                        "node --version",
                        # the package and version the catalog pins: one source of truth
                        "mlcc-ci generator install",
                    ],
                },
                "build": {
                    "commands": [
                        f'export MLCC_CI_LOG_STREAM="{LOG_STREAM}"',
                        # do/submit's source bucket: CodeBuild reserves the CODEBUILD_ prefix
                        # for project variables, so it is named here, in the shell
                        'export CODEBUILD_SOURCE_S3_BUCKET="$MLCC_CI_SOURCES_BUCKET"',
                        # SIGTERM when the stages and teardown could have used all their
                        # time; the runner then tears down (CodeBuild's timeout leaves room).
                        # The runner knows the budget too: a retry within the run must fit
                        f"export {RUN_SECONDS_ENV}={budget.run_seconds}",
                        f'timeout --signal=TERM "${{{RUN_SECONDS_ENV}}}s" '
                        f'mlcc-ci run --config-id "$CONFIG_ID" --run-id "$RUN_ID" '
                        f'--store "{STORE}" --work-dir "$CODEBUILD_SRC_DIR/../mlcc-ci-work"',
                    ],
                },
                "post_build": {
                    "commands": [
                        'if [ "$CODEBUILD_BUILD_SUCCEEDING" != "1" ]; then '
                        'mlcc-ci record-failure --config-id "$CONFIG_ID" --run-id "$RUN_ID" '
                        f'--store "{STORE}" --message "executor build $CODEBUILD_BUILD_ID '
                        f"failed or timed out ({budget.build_minutes} min) before the run "
                        'recorded its result" || true; fi',
                        # after the result: the confidence site, when PublishBucket names one
                        publish_command(budget),
                    ],
                },
            },
        }
    )

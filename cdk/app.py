"""`cdk synth` / `cdk deploy` in this checkout (`make synth`): the app mlcc-ci ships
(mlcc_ci/stack/app.py), with the shipped catalog. A team's repository uses
`mlcc-ci stack synth|deploy` instead, with its own catalog."""

from mlcc_ci.stack.app import main

if __name__ == "__main__":
    main()

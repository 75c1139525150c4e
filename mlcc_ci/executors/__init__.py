"""Stage executors: run one stage command and say how it ended."""

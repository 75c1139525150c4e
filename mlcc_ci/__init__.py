"""mlcc-ci: a catalog-driven integration-test matrix for ML serving containers."""

__version__ = "0.2.0"

"""MlccCiHarnessStack: the AWS deployment of mlcc-ci."""

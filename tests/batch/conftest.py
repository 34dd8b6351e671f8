"""Fixtures of the batch and transaction tests: `ddb` (tests/conftest.py) is the `dynamodb` client with
botocore's parameter validation off."""

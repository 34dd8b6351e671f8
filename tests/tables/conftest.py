"""Fixtures of the table control-plane tests: `ddb` (tests/conftest.py) is the `dynamodb` client with
botocore's parameter validation off."""

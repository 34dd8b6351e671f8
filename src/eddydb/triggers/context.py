"""The Lambda `context` object handed to `handler(event, context)`.

Built by the worker process (triggers/worker.py) for each invocation and by the
runtime (triggers/runtime.py) for in-process callables; the same attributes as
AWS's Python runtime (reference part C). Standard library only: the worker
loads this file before any user code.
"""
from __future__ import annotations

import time
from typing import Any

__all__ = ["Client", "ClientContext", "CognitoIdentity", "LambdaContext"]


class CognitoIdentity:
    """`context.identity`: always present, empty outside Cognito (as in AWS)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id: str | None = None, pool_id: str | None = None) -> None:
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self) -> str:
        return (f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
                f"cognito_identity_pool_id={self.cognito_identity_pool_id}])")


class Client:
    """`context.client_context.client`: the mobile client that invoked, if it said so."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, d: dict[str, Any]) -> None:
        self.installation_id = d.get("installation_id")
        self.app_title = d.get("app_title")
        self.app_version_name = d.get("app_version_name")
        self.app_version_code = d.get("app_version_code")
        self.app_package_name = d.get("app_package_name")


class ClientContext:
    """`context.client_context`: decoded from the Invoke `X-Amz-Client-Context` header."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, d: dict[str, Any]) -> None:
        client = d.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = d.get("custom")
        self.env = d.get("env")


class LambdaContext:
    """What AWS's Python runtime passes as `context`."""

    __slots__ = (
        "_deadline_ms",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
    )

    def __init__(self, *, function_name: str, function_version: str, invoked_function_arn: str,
                 memory_limit_in_mb: int | str, aws_request_id: str, log_group_name: str,
                 log_stream_name: str, deadline_ms: float, client_context: dict[str, Any] | None = None,
                 identity: dict[str, Any] | None = None, tenant_id: str | None = None) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_limit_in_mb)   # a string, as in AWS
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        identity = identity or {}
        self.identity = CognitoIdentity(identity.get("cognitoIdentityId"), identity.get("cognitoIdentityPoolId"))
        self.client_context = ClientContext(client_context) if client_context else None
        self.tenant_id = tenant_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (never negative)."""
        return max(int(self._deadline_ms - time.time() * 1000.0), 0)

    def log(self, msg: str) -> None:
        """AWS's runtime offers `context.log`; it writes to the function's log."""
        import sys

        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
                f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
                f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
                f"identity={self.identity}])")

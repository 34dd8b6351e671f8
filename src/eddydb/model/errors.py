"""DynamoDB, Streams and Lambda error types: one class per AWS error name.

Raised anywhere below the server; `server`/`api.dispatch` map them to the wire
(`__type`, HTTP status, message) in one place. Extra fields a response carries
(Item on ConditionalCheckFailed, CancellationReasons) live on the instance.
"""
from __future__ import annotations

from typing import Any

_DDB = "com.amazonaws.dynamodb.v20120810#"
_CORAL = "com.amazon.coral.service#"
_VALIDATE = "com.amazon.coral.validate#"


class EddyError(Exception):
    """Base of every error that reaches a client with an AWS shape."""

    code: str = "InternalServerError"
    type_prefix: str = _DDB
    status: int = 500

    def __init__(self, message: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # merged into the JSON error body

    @property
    def type_name(self) -> str:
        return self.type_prefix + self.code

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"__type": self.type_name, "message": self.message}
        out.update(self.extra)
        return out


class _ClientError(EddyError):
    status = 400


# --- DynamoDB -----------------------------------------------------------
class ValidationException(_ClientError):
    code = "ValidationException"
    type_prefix = _VALIDATE


class SerializationException(_ClientError):
    code = "SerializationException"
    type_prefix = _CORAL


class UnknownOperationException(_ClientError):
    code = "UnknownOperationException"
    type_prefix = _CORAL


class MissingAuthenticationTokenException(_ClientError):
    code = "MissingAuthenticationTokenException"
    type_prefix = _CORAL


class ResourceNotFoundException(_ClientError):
    code = "ResourceNotFoundException"


class ResourceInUseException(_ClientError):
    code = "ResourceInUseException"


class ConditionalCheckFailedException(_ClientError):
    code = "ConditionalCheckFailedException"

    def __init__(self, message: str = "The conditional request failed", item: dict | None = None) -> None:
        super().__init__(message)
        if item is not None:
            self.extra["Item"] = item


class DuplicateItemException(_ClientError):
    """A PartiQL INSERT whose primary key already exists in the table."""

    code = "DuplicateItemException"

    def __init__(self, message: str = "Duplicate primary key exists in table") -> None:
        super().__init__(message)


class TransactionCanceledException(_ClientError):
    code = "TransactionCanceledException"

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        codes = ", ".join(r.get("Code", "None") for r in reasons)
        super().__init__(f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]")
        self.extra["CancellationReasons"] = reasons


class TransactionConflictException(_ClientError):
    code = "TransactionConflictException"


class TransactionInProgressException(_ClientError):
    code = "TransactionInProgressException"


class IdempotentParameterMismatchException(_ClientError):
    code = "IdempotentParameterMismatchException"


class ItemCollectionSizeLimitExceededException(_ClientError):
    code = "ItemCollectionSizeLimitExceededException"


class LimitExceededException(_ClientError):
    code = "LimitExceededException"


class ProvisionedThroughputExceededException(_ClientError):
    code = "ProvisionedThroughputExceededException"


class InternalServerError(EddyError):
    code = "InternalServerError"
    status = 500


# --- DynamoDB Streams ----------------------------------------------------
class TrimmedDataAccessException(_ClientError):
    code = "TrimmedDataAccessException"


class ExpiredIteratorException(_ClientError):
    code = "ExpiredIteratorException"


# --- Lambda (REST-JSON: the type name is bare, status varies) ------------
class _LambdaError(EddyError):
    type_prefix = ""


class InvalidParameterValueException(_LambdaError):
    code = "InvalidParameterValueException"
    status = 400


class LambdaResourceNotFoundException(_LambdaError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflictException(_LambdaError):
    code = "ResourceConflictException"
    status = 409


class LambdaResourceInUseException(_LambdaError):
    """An event source mapping in a state that forbids the operation (e.g. an update while Deleting)."""

    code = "ResourceInUseException"
    status = 400


class LambdaServiceException(_LambdaError):
    code = "ServiceException"
    status = 500


class RequestTooLargeException(_LambdaError):
    code = "RequestTooLargeException"
    status = 413


class UnsupportedMediaTypeException(_LambdaError):
    code = "UnsupportedMediaTypeException"
    status = 415


class InvalidRequestContentException(_LambdaError):
    code = "InvalidRequestContentException"
    status = 400


class PreconditionFailedException(_LambdaError):
    code = "PreconditionFailedException"
    status = 412


class TooManyRequestsException(_LambdaError):
    """Lambda's throttle (429): a function whose reserved concurrency is 0 takes no invocations."""

    code = "TooManyRequestsException"
    status = 429


__all__ = [name for name, obj in list(globals().items()) if isinstance(obj, type) and issubclass(obj, EddyError) and not name.startswith("_")]


class TableNotFoundException(_ClientError):
    """DescribeContinuousBackups / UpdateContinuousBackups on a missing table."""
    code = "TableNotFoundException"

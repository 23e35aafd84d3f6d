"""Exception types the domain raises; the CLI turns each into one line and an exit code.

No module below cli.py prints an error or calls sys.exit: it raises one of these.
"""

from __future__ import annotations

from enum import IntEnum


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else), without importing botocore."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class ExitCode(IntEnum):
    """terraform's convention, shared by every command."""

    OK = 0
    ERROR = 1
    CHANGES = 2  # plan --detailed-exitcode: the plan is not empty
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class SnapinfraError(Exception):
    """A failure the user can act on. `str(error)` is the whole message: one line, no traceback."""

    exit_code: ExitCode = ExitCode.ERROR


class CatalogError(SnapinfraError):
    """The catalog is unreadable or invalid. Carries every problem found, each already located."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class AwsConfigError(SnapinfraError):
    """Credentials, region or endpoint are missing or wrong."""


class DynamoDBError(SnapinfraError):
    """DynamoDB refused a call; the message names the call and DynamoDB's own reason."""


class Refused(SnapinfraError):
    """The tool declined to act (no confirmation, nothing safe to do)."""

"""The tunekit exception tree.

Every error tunekit raises on purpose derives from :class:`TunekitError`, and
carries what a user needs to act on it: the file and line of bad data, the run
and remote job ids, the provider's own message.

::

    TunekitError
     ├── ConfigError (ValueError)              a config file or value is wrong
     │    └── ProviderNotFoundError             no installed provider has that name
     ├── DataError (ValueError)                data is unreadable or invalid (file:line:field)
     ├── DependencyMissingError (ImportError)  an optional package is not installed
     ├── LedgerError                           the run ledger cannot be read or written
     │    ├── RunNotFoundError (KeyError)      no run has that id
     │    └── RunLockedError                   another process is driving the run
     ├── UnsupportedOperationError             the provider cannot do that (pause, deploy, ...)
     ├── ServingError                          a model cannot be served or exported (port taken, engine stopped)
     ├── ProviderError                         a remote service or local backend refused
     │    ├── AuthenticationError               the credentials were rejected
     │    ├── PermissionDeniedError             the credentials lack a right
     │    │    └── FineTuningUnavailableError   the account may not start fine-tuning jobs
     │    ├── QuotaExceededError                billing or quota exhausted
     │    ├── NotFoundError                     a remote object does not exist
     │    ├── InvalidRequestError               the service rejected a parameter
     │    ├── ConflictError                     the object exists or is busy (HTTP 409)
     │    ├── DeploymentFailedError             a deployment did not start and was deleted again
     │    ├── RateLimitedError                  HTTP 429 after bounded retries
     │    └── ServiceUnavailableError           5xx, timeouts, resets after bounded retries
     └── JobError                               a training job has no model to give
          ├── JobNotFinishedError               not yet: the job is still pending or running
          ├── JobFailedError                    the job failed (with the provider's message)
          ├── JobCancelledError                 the job was cancelled
          └── JobLostError                      the recorded job no longer exists at the provider

Subclassing ``ValueError``, ``ImportError`` and ``KeyError`` lets callers keep
catching the stdlib types they already catch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DependencyMissingError",
    "DeploymentFailedError",
    "FineTuningUnavailableError",
    "InvalidRequestError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobLostError",
    "JobNotFinishedError",
    "LedgerError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderNotFoundError",
    "QuotaExceededError",
    "RateLimitedError",
    "RunLockedError",
    "RunNotFoundError",
    "ServiceUnavailableError",
    "ServingError",
    "TunekitError",
    "UnsupportedOperationError",
]


class TunekitError(Exception):
    """Base class of every error tunekit raises on purpose."""


class ConfigError(TunekitError, ValueError):
    """A config file or value is invalid.

    ``problems`` lists each finding as ``"dotted.path: message"``.
    """

    def __init__(self, message: str, *, source: str | Path | None = None, problems: Sequence[str] = ()) -> None:
        self.source = str(source) if source is not None else None
        self.problems = list(problems)
        text = message
        if self.source:
            text = f"{self.source}: {text}"
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class ProviderNotFoundError(ConfigError):
    """No installed provider has the requested name."""

    def __init__(self, name: str, installed: Sequence[str], package: str | None = None) -> None:
        self.name = name
        self.installed = list(installed)
        self.package = package
        listing = ", ".join(sorted(installed)) or "none"
        hint = f" If it is a plugin you have not installed: pip install {package}" if package else ""
        super().__init__(f"unknown provider {name!r} (installed: {listing}).{hint}")


class DataError(TunekitError, ValueError):
    """Training data is unreadable or invalid.

    Carries the location of the first problem (``file``, ``line``, ``field``)
    and, when a whole report failed, the report itself.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        report: object | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.report = report
        where = ""
        if self.file is not None:
            where = self.file
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"{field}: "
        super().__init__(f"{where}{message}")


class DependencyMissingError(TunekitError, ImportError):
    """An optional dependency is missing; the message says what to install."""

    def __init__(self, feature: str, install: str) -> None:
        self.feature = feature
        self.install = install
        super().__init__(f"{feature} needs an optional dependency: pip install {install}")


class LedgerError(TunekitError):
    """The run ledger could not be read or written."""


class RunNotFoundError(LedgerError, KeyError):
    """No run with this id is in the ledger."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id!r} in the ledger (see `tunekit runs`)")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RunLockedError(LedgerError):
    """Another process is already driving this run."""

    def __init__(self, run_id: str, holder: str | None = None) -> None:
        self.run_id = run_id
        extra = f" ({holder})" if holder else ""
        super().__init__(f"run {run_id!r} is being driven by another process{extra}; wait for it or stop it first")


class UnsupportedOperationError(TunekitError):
    """The provider does not support this operation."""

    def __init__(self, provider: str, operation: str, hint: str = "") -> None:
        self.provider = provider
        self.operation = operation
        super().__init__(f"provider {provider!r} does not support {operation}" + (f": {hint}" if hint else ""))


class ServingError(TunekitError):
    """A tuned model cannot be served or exported: the port is taken, the engine stopped, an export check failed."""


class ProviderError(TunekitError):
    """A remote service or local backend refused a request.

    ``provider_message`` keeps the service's own words; ``hint`` says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.param = param
        self.provider_message = provider_message
        self.request_id = request_id
        self.hint = hint
        self.message = message
        """The summary alone, without the provider's words and the hint."""
        parts = [f"[{provider}] {message}" if provider else message]
        if provider_message and provider_message not in message:
            parts.append(f"The service said: {provider_message}")
        if hint:
            parts.append(hint)
        if request_id:
            parts.append(f"(request id {request_id})")
        super().__init__(" ".join(parts))


class AuthenticationError(ProviderError):
    """The credentials were missing, wrong or expired."""


class PermissionDeniedError(ProviderError):
    """The credentials are valid but lack a permission."""


class FineTuningUnavailableError(PermissionDeniedError):
    """The account may no longer (or may not yet) start fine-tuning jobs."""


class QuotaExceededError(ProviderError):
    """Billing quota or a hard usage limit is exhausted."""


class NotFoundError(ProviderError):
    """A remote object (file, job, model, deployment) does not exist."""


class InvalidRequestError(ProviderError, ValueError):
    """The service rejected a parameter or a training file."""


class ConflictError(ProviderError):
    """The remote object already exists or is in a state that forbids the request."""


class DeploymentFailedError(ProviderError):
    """A deployment was created but did not start, and was deleted again: nothing of it bills."""


class RateLimitedError(ProviderError):
    """Still rate limited after the bounded retries."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ServiceUnavailableError(ProviderError):
    """Server errors, timeouts or resets persisted after the bounded retries."""


class JobError(TunekitError):
    """A training job has no model to give (not yet, or never)."""

    def __init__(self, message: str, *, run_id: str | None = None, job_id: str | None = None) -> None:
        self.run_id = run_id
        self.job_id = job_id
        ids = ", ".join(x for x in (f"run {run_id}" if run_id else "", f"job {job_id}" if job_id else "") if x)
        super().__init__(f"{message} ({ids})" if ids else message)


class JobNotFinishedError(JobError):
    """The job has not ended yet: there is no model *yet*; ``status`` is where it stands."""

    def __init__(self, status: str, *, run_id: str | None = None, job_id: str | None = None, hint: str = "") -> None:
        self.status = status
        advice = hint or "wait for it first (`tunekit watch RUN`)"
        super().__init__(f"the job is still {status}; {advice}", run_id=run_id, job_id=job_id)


class JobFailedError(JobError):
    """The job failed; the message is the provider's reason."""


class JobCancelledError(JobError):
    """The job was cancelled before it produced a model."""


class JobLostError(JobError):
    """The job the ledger recorded for a run no longer exists at the provider (deleted, or another account)."""

"""What only the OpenAI provider knows about its errors, added to the shared mapping's text."""

from __future__ import annotations

from datetime import date

from tunekit.plugin import FineTuningUnavailableError, InvalidRequestError, ProviderError, TunekitError
from tunekit_openai.retirements import shipped_retirements, suggested_model, training_ends

__all__ = ["explain_openai_error", "fine_tuning_notice", "tunable_hint"]


def fine_tuning_notice() -> str:
    """What the refusal means, with the dates from the provider's one retirement table."""
    ends = training_ends()
    when = f"after {ends}" if ends else "any longer"
    return (
        f"OpenAI is ending self-serve fine-tuning: no organization can start a new job {when} (organizations "
        "without recent fine-tuning lost job creation earlier). Models already tuned keep answering until their "
        f"base model shuts down ({_shutdowns()}); `tunekit migrate RUN --to CONFIG` moves a tuned workload to "
        "another provider and checks it is no worse."
    )


def tunable_hint() -> str:
    """Which models to tune instead, saying when they shut down (never a retiring snapshot without its date)."""
    ends = training_ends()
    suggest = suggested_model()
    such_as = f" (such as {suggest})" if suggest and (ends is None or ends >= date.today()) else ""
    return (
        f"OpenAI fine-tunes only a few snapshots{such_as}, and all of them shut down soon "
        f"({_shutdowns()}); a model tuned on one stops with it. For a tuned model that lasts, run the same config "
        "on another provider that tunes open models (local, autotrain)."
    )


def _shutdowns() -> str:
    by_date: dict[str, list[str]] = {}
    for row in shipped_retirements():
        if row.shutdown and row.training_ends and row.training_ends >= date.today():
            by_date.setdefault(row.shutdown.isoformat(), []).append(row.model)
    if not by_date:
        return "see https://developers.openai.com/api/docs/deprecations"
    return "; ".join(f"{', '.join(models)}: {day}" for day, models in sorted(by_date.items()))


def explain_openai_error(error: TunekitError) -> TunekitError:
    """The same error with OpenAI-specific advice where the shared text cannot know it."""
    if isinstance(error, FineTuningUnavailableError):
        return _with_hint(error, fine_tuning_notice(), first=True)
    if isinstance(error, InvalidRequestError) and error.param == "model":
        return _with_hint(error, tunable_hint())
    return error


def _with_hint(error: ProviderError, extra: str, *, first: bool = False) -> ProviderError:
    if error.hint and extra in error.hint:
        return error
    hint = " ".join(x for x in ((extra, error.hint) if first else (error.hint, extra)) if x)
    rebuilt = type(error)(
        error.message,
        provider=error.provider,
        status_code=error.status_code,
        code=error.code,
        param=error.param,
        provider_message=error.provider_message,
        request_id=error.request_id,
        hint=hint,
    )
    rebuilt.__cause__ = error.__cause__
    return rebuilt

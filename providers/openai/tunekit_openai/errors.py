"""What only the OpenAI provider knows about its errors, added to the shared mapping's text."""

from __future__ import annotations

from tunekit.errors import FineTuningUnavailableError, InvalidRequestError, ProviderError, TunekitError

__all__ = ["FINE_TUNING_NOTICE", "explain_openai_error"]

FINE_TUNING_NOTICE = (
    "OpenAI stops new self-serve fine-tuning jobs on 2027-01-06; from then on only organizations that kept "
    "access can start jobs (models already tuned keep serving)."
)

TUNABLE_HINT = (
    "Choose a model OpenAI can fine-tune with this method, such as gpt-4.1-mini-2025-04-14 or "
    "gpt-4o-mini-2024-07-18 (see https://platform.openai.com/docs/guides/fine-tuning)."
)


def explain_openai_error(error: TunekitError) -> TunekitError:
    """The same error with OpenAI-specific advice where the shared text cannot know it."""
    if isinstance(error, FineTuningUnavailableError):
        return _with_hint(error, FINE_TUNING_NOTICE, first=True)
    if isinstance(error, InvalidRequestError) and error.param == "model":
        return _with_hint(error, TUNABLE_HINT)
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

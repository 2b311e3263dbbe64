"""Asking before money is spent: the one prompt `tunekit run` and `tunekit submit` show before a job that bills."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tunekit.cli.output import EXIT_DATA_INVALID, EXIT_FAILURE, EXIT_USAGE, console, err_console

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from tunekit.config import DeployConfig
    from tunekit.data.profile import HostingCost
    from tunekit.tuner import Tuner

__all__ = ["confirm_deployment", "confirm_new_job", "confirm_resume"]


def can_ask() -> bool:
    """Whether someone can answer a question: stdin is a terminal (a script or CI must say --yes instead)."""
    return sys.stdin.isatty()


def confirm_new_job(
    tuner: Tuner,
    *,
    yes: bool,
    out: Console | None = None,
    preflight: Callable[[], None] | None = None,
    check_rewards: bool = True,
) -> None:
    """Validate the data, show the report and the estimate, and ask before starting a job that bills.

    ``preflight`` runs once the data is valid, before the question (the
    evaluation's models are asked one question there). With ``check_rewards``,
    a hosted ``method: rft`` job's rewards are tried on samples of the base
    model once the question is answered (:mod:`tunekit.evaluate.reward_preflight`; a
    few requests, said with their price before the question, sent only when agreed,
    before anything is uploaded); a reward that raises or never varies is refused
    (a ConfigError, exit 2) with nothing uploaded. Exits 3 when the data
    is invalid (nothing was uploaded or spent), and 2
    when the job would bill, ``--yes`` was not given and no terminal can
    answer the question (a script or CI must say ``--yes`` on purpose).
    """
    report = tuner.validate()
    (out or console).print(report.summary(), soft_wrap=True, markup=False)
    if not report.ok:
        err_console.print("[bold red]data invalid:[/] fix the errors above; nothing was uploaded or spent")
        raise typer.Exit(EXIT_DATA_INVALID)
    sample = _reward_check(tuner, out or console) if check_rewards else None
    if preflight is not None:
        preflight()
    if tuner.provider.spends_money and not yes:
        if not can_ask():
            err_console.print(
                f"this starts a {tuner.provider.name} job that bills; pass --yes to confirm without a prompt"
            )
            raise typer.Exit(EXIT_USAGE)
        # The reward check's requests bill too: they wait for this answer, like the job.
        first = "Check the rewards, then start" if sample is not None else "Start"
        if not typer.confirm(f"{first} a {tuner.provider.name} job (it bills)?", default=False):
            raise typer.Exit(EXIT_FAILURE)
    if sample is not None:
        sample()


def _reward_check(tuner: Tuner, out: Console) -> Callable[[], None] | None:
    """Say how many requests the reward check sends and what they cost; the check itself, to run once agreed.

    None when it does not apply (not ``method: rft``, or a job that runs on this machine).
    """
    from rich.markup import escape

    from tunekit.data import load_splits
    from tunekit.evaluate.prices import price_for
    from tunekit.evaluate.reward_preflight import STEP, check_rewards_on_base_model, reward_sampling, spread_summary
    from tunekit.inference.ratelimit import estimate_prompt_tokens

    config, provider = tuner.config, tuner.provider
    if config.method != "rft" or provider.runs_here:
        return None
    sampling = reward_sampling(config, provider, load_splits(config, profile=provider).train)
    if sampling is None:
        return None
    price = price_for(tuner.provider.name, sampling.model)
    cost = ""
    if price is not None:
        most = sum(
            price.per_request(estimate_prompt_tokens(item.prompt), sampling.max_tokens) * sampling.samples
            for item in sampling.items
        )
        cost = f", at most USD {most:.2f}"
    out.print(
        f"checking the rewards on the base model: {escape(sampling.describe())}, billed as inference{cost} "
        "(--skip-reward-check leaves them out)",
        soft_wrap=True,
        highlight=False,
    )

    def sample() -> None:
        with console.status("sampling the base model to check the rewards"):
            spreads = check_rewards_on_base_model(config, provider, sampling)
        summary = spread_summary(spreads)
        tuner.note_check(STEP, summary, {"rewards": [spread.to_json() for spread in spreads]})
        out.print(f"rewards on the base model's samples: {escape(summary)}", soft_wrap=True, highlight=False)

    return sample


def confirm_deployment(tuner: Tuner, settings: DeployConfig, *, yes: bool, run_id: str) -> HostingCost | None:
    """Say what the deployment costs by the hour, and ask before creating one that bills.

    The price is the one the service quotes now (:meth:`Provider.live_hosting_cost
    <tunekit.provider.Provider.live_hosting_cost>`) when it quotes one, said
    with the dated table's when they differ; else the table's, with its date.
    Exits 2 when ``--yes`` was not given and no terminal can answer; exits 1
    (nothing created) when the answer is no. A tier without an hourly fee is
    said, not asked about. Returns the price it said.
    """
    table = tuner.provider.hosting_cost(tuner.config.model, settings)
    live = tuner.provider.live_hosting_cost(tuner.config.model, settings)
    hosting, said = _price_said(live, table)
    if hosting is not None:
        dated = f" ({said})" if said else ""
        err_console.print(f"[bold yellow]note:[/] {hosting.warning()}{dated}", highlight=False, soft_wrap=True)
        if hosting.per_hour == 0:
            return hosting
    if yes:
        return hosting
    price = ""
    if hosting is not None and hosting.per_hour is not None:
        price = f" at {hosting.currency} {hosting.per_hour:.2f} per hour"
    if not can_ask():
        err_console.print(
            f"this creates a deployment ({tuner.provider.name}) that bills{price} until `tunekit undeploy {run_id}`; "
            "pass --yes to confirm without a prompt",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_USAGE)
    where = f"; {said}" if said and price else ""
    if not typer.confirm(f"Deploy run {run_id} (it bills{price} until undeployed{where})?", default=False):
        err_console.print("nothing was deployed")
        raise typer.Exit(EXIT_FAILURE)
    return hosting


def _price_said(live: HostingCost | None, table: HostingCost | None) -> tuple[HostingCost | None, str]:
    """The price to say (the service's when it quoted one, else the table's) and where it comes from, dated."""
    if live is None or live.per_hour is None:
        if table is None or not table.as_of:
            return table, ""
        return table, f"table prices as of {table.as_of}" + (f": {table.source}" if table.source else "")
    said = f"read now from {live.source or 'the service'}"
    if table is not None and table.per_hour is not None and round(table.per_hour, 2) != round(live.per_hour, 2):
        dated = f" as of {table.as_of}" if table.as_of else ""
        said += f"; the table says {table.currency} {table.per_hour:.2f}{dated}"
    return live, said


def confirm_resume(tuner: Tuner, run_id: str, name: str | None, *, yes: bool) -> None:
    """Say what resuming the run's paused deployments costs by the hour, and ask unless ``yes``.

    Exits 2 when ``--yes`` was not given and no terminal can answer; exits 1
    (nothing resumed) when the answer is no.
    """
    paused = [d for d in tuner.deployments(run_id, existing=True) if d.state == "paused" and name in (None, d.name)]
    prices = [f"{d.currency or 'USD'} {d.hourly_price:.2f}" for d in paused if d.hourly_price is not None]
    price = f" at {' + '.join(prices)} per hour" if prices and len(prices) == len(paused) else ""
    names = ", ".join(d.name for d in paused) or "none"
    err_console.print(
        f"[bold yellow]note:[/] resuming {names} bills{price} again until paused or undeployed",
        highlight=False,
        soft_wrap=True,
    )
    if yes or not paused:  # nothing paused: the resume itself says so
        return
    if not can_ask():
        err_console.print(f"resuming bills again{price}; pass --yes to confirm without a prompt", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    if not typer.confirm(f"Resume {names} of run {run_id} (it bills{price} again)?", default=False):
        err_console.print("nothing was resumed")
        raise typer.Exit(EXIT_FAILURE)

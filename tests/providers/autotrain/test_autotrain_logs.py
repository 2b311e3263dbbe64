"""Reading AutoTrain and TRL logs: steps from progress bars, losses from metric dicts, stable event ids."""

from __future__ import annotations

from tunekit_autotrain.logs import log_events, log_tail, parse_lines, progress

AUTOTRAIN = [
    "INFO     | 2025-06-01 12:00:03 | autotrain.trainers.common:on_train_begin:230 - Starting to train...",
    " 10%|█         | 5/50 [00:10<01:30,  2.00s/it]",
    "INFO     | 2025-06-01 12:00:13 | autotrain.trainers.common:on_log:226 - "
    "{'loss': 1.9231, 'grad_norm': 0.81, 'learning_rate': 2.7e-05, 'epoch': 0.1}",
    " 20%|██        | 10/50 [00:20<01:20,  2.00s/it]",
    "INFO     | 2025-06-01 12:00:23 | autotrain.trainers.common:on_log:226 - "
    "{'eval_loss': 1.75, 'eval_runtime': 3.1, 'epoch': 0.2}",
    "ERROR    | 2025-06-01 12:00:24 | autotrain.trainers.common:wrapper:215 - train has failed due to an exception:",
    "torch.OutOfMemoryError: CUDA out of memory.",
]

TRL = [
    "{'loss': 2.1, 'grad_norm': 1.2, 'learning_rate': 1.8e-05, 'num_tokens': 4096.0, "
    "'mean_token_accuracy': 0.51, 'epoch': 0.33}",
    " 67%|██████▋   | 2/3 [00:04<00:02,  2.00s/it]",
    "{'train_runtime': 6.0, 'train_samples_per_second': 1.0, 'train_steps_per_second': 0.5, 'train_loss': 1.9, "
    "'epoch': 1.0}",
]


def test_autotrain_lines_give_steps_losses_and_errors() -> None:
    lines = list(parse_lines(AUTOTRAIN))
    assert (lines[1].step, lines[1].total_steps) == (5, 50)
    assert lines[2].metrics == {"train_loss": 1.9231, "grad_norm": 0.81, "learning_rate": 2.7e-05, "epoch": 0.1}
    assert lines[2].step == 5  # the dict has no step: it takes the last bar's
    assert lines[4].metrics["valid_loss"] == 1.75 and lines[4].step == 10
    assert [line.error for line in lines][-2:] == [True, True] and not lines[0].error
    assert lines[0].step is None


def test_trl_lines_and_progress() -> None:
    lines = list(parse_lines(TRL))
    assert lines[0].metrics["train_mean_token_accuracy"] == 0.51 and lines[0].step is None
    step, total, latest = progress(lines)
    assert (step, total) == (2, 3)
    assert latest["final_train_loss"] == 1.9 and latest["train_loss"] == 2.1


def test_events_have_stable_ids_and_resume_after_the_last_seen() -> None:
    events = list(log_events(parse_lines(AUTOTRAIN)))
    assert [e.id for e in events][:3] == ["log-000000", "log-000001", "log-000002"]
    assert events[2].type == "metrics" and events[-1].level == "error"
    later = list(log_events(parse_lines(AUTOTRAIN), after="log-000004"))
    assert [e.id for e in later] == ["log-000005", "log-000006"]


def test_the_tail_masks_secrets() -> None:
    token = "hf_" + "S" * 34
    tail = log_tail(["a", "", f"push with {token} failed", "b"], count=2)
    assert tail.splitlines()[0].startswith("push with") and token not in tail and tail.endswith("b")

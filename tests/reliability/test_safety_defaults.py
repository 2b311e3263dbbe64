"""Safe by default: YAML cannot run code, model code runs only when asked, run folders stay put,
keys never travel over plain HTTP off this machine, and one process at a time drives a run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from tunekit.config import load_config, parse_config
from tunekit.errors import ConfigError, LedgerError, RunLockedError
from tunekit.ledger import Ledger, validate_run_id
from tunekit_emulators import Fault
from tunekit_emulators.conformance.data import chat_rows, write_jsonl, write_yaml
from tunekit_emulators.conformance.zygote import Zygote
from tunekit_emulators.openai import OpenAIEmulator

REPO = Path(__file__).resolve().parents[2]

# -- YAML -------------------------------------------------------------------------------------------------


def _python_tag_config(marker: Path) -> str:
    return (
        "provider: openai\nmodel: gpt-4o-mini-2024-07-18\ndata: {train: t.jsonl}\n"
        f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    )


def test_yaml_tags_that_would_run_code_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "tune.yaml"
    path.write_text(_python_tag_config(marker))
    with pytest.raises(ConfigError, match="cannot parse config"):
        load_config(path)
    assert not marker.exists()


def test_autotrain_yaml_import_is_safe_too(tmp_path: Path) -> None:
    from tunekit_autotrain.yaml_import import load_autotrain_yaml

    marker = tmp_path / "pwned"
    path = tmp_path / "autotrain.yml"
    path.write_text(f"task: llm-sft\nbase_model: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError):
        load_autotrain_yaml(path)
    assert not marker.exists()


def test_no_unsafe_yaml_loader_anywhere_in_the_code() -> None:
    """Every YAML read in the shipped code goes through safe_load (new code included)."""
    unsafe = re.compile(
        r"yaml\.(load|unsafe_load|full_load|load_all|unsafe_load_all)\(|Loader\s*=\s*yaml\.(Unsafe|Full)?Loader"
    )
    offenders = []
    for root in (REPO / "tunekit", REPO / "providers"):
        for path in root.rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if unsafe.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


# -- trust_remote_code ---------------------------------------------------------------------------------------

_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    folder, marker = Path(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir()
    # A model folder that ships its own code, which writes the marker when it runs.
    (folder / "config.json").write_text(json.dumps({
        "model_type": "tunekit_remote_code_probe",
        "auto_map": {"AutoConfig": "probe.ProbeConfig", "AutoModelForCausalLM": "probe.ProbeModel"},
    }))
    (folder / "probe.py").write_text(
        f"from pathlib import Path\\nPath({str(marker)!r}).write_text('ran')\\n"
        "from transformers import PretrainedConfig, PreTrainedModel\\n"
        "class ProbeConfig(PretrainedConfig):\\n    model_type = 'tunekit_remote_code_probe'\\n"
        "class ProbeModel(PreTrainedModel):\\n    config_class = ProbeConfig\\n"
    )
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel({"<unk>": 0}, unk_token="<unk>")), unk_token="<unk>", eos_token="<unk>"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    tokenizer.save_pretrained(folder)

    from tunekit.config import parse_config
    from tunekit.provider import FineTunedModel
    from tunekit.registry import create_provider

    for options in ({"device": "cpu"}, {"device": "cpu", "trust_remote_code": True}):
        config = parse_config(
            {"provider": "local", "model": str(folder), "data": {"train": "t.jsonl"}, "provider_options": options}
        )
        provider = create_provider("local", config.options())
        served = FineTunedModel(
            provider="local", model_id=str(folder), base_model=str(folder), kind="model_dir", path=str(folder)
        )
        try:
            provider.client(served).chat([{"role": "user", "content": "hi"}], max_tokens=1)
            error = ""
        except Exception as exc:
            error = str(exc)
        print(json.dumps({"trusted": config.options().trust_remote_code, "ran": marker.exists(), "error": error}))
    """
)


def test_trust_remote_code_is_off_unless_the_config_turns_it_on() -> None:
    from tunekit_local.options import LocalOptions

    assert LocalOptions().trust_remote_code is False
    config = parse_config({"provider": "local", "model": "smollm2-135m-instruct", "data": {"train": "t.jsonl"}})
    assert config.options().trust_remote_code is False  # type: ignore[attr-defined]


@pytest.mark.slow
def test_model_code_runs_only_with_trust_remote_code(tmp_path: Path) -> None:
    """A local model folder with its own Python: refused by default, run once the config allows it."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),  # transformers copies the model's code here
        "TUNEKIT_HOME": str(tmp_path / "home"),
    }
    marker = tmp_path / "model-code-ran"
    child = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "model"), str(marker)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    default, trusted = (json.loads(line) for line in child.stdout.strip().splitlines()[-2:])
    assert default["trusted"] is False and default["ran"] is False
    assert "trust_remote_code" in default["error"] or "custom code" in default["error"]
    assert trusted["trusted"] is True and trusted["ran"] is True


# -- run folders ------------------------------------------------------------------------------------------

ESCAPES = ["..", ".", "../x", "../../etc", "/etc/passwd", "a/b", "a\\b", "", " ", "-rf", "x\x00y", "~root", "a" * 129]


@pytest.mark.parametrize("run_id", ESCAPES)
def test_run_ids_that_could_escape_are_refused(tmp_path: Path, run_id: str) -> None:
    ledger = Ledger(tmp_path / "runs.db")
    with pytest.raises(LedgerError, match="invalid run id"):
        ledger.run_dir(run_id)
    with pytest.raises(LedgerError, match="invalid run id"):
        ledger.create_run(run_id, provider="openai", model="m", config_hash="h", config={})
    with pytest.raises(LedgerError, match="invalid run id"), ledger.lock(run_id):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["runs.db"] or not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return Ledger(tmp_path_factory.mktemp("ledger") / "runs.db")


@settings(max_examples=200, deadline=None)
@given(run_id=st.one_of(st.text(max_size=140), st.from_regex(r"[A-Za-z0-9._/\\-]{1,20}", fullmatch=True)))
def test_any_accepted_run_id_names_a_folder_inside_runs(shared_ledger: Ledger, run_id: str) -> None:
    try:
        folder = shared_ledger.run_dir(run_id)
    except LedgerError:
        with pytest.raises(LedgerError):
            validate_run_id(run_id)
        return
    runs = (shared_ledger.home / "runs").resolve()
    assert folder.resolve().parent == runs and folder.name == run_id


def test_the_ledger_places_run_folders_under_its_home(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "runs.db")
    run_id = "openai-20250101-000000-abcdef"
    record = ledger.create_run(run_id, provider="openai", model="m", config_hash="h", config={})
    assert record.run_dir.parent == tmp_path / "runs" and record.run_dir.is_dir()


# -- plain HTTP -------------------------------------------------------------------------------------------

REFUSED = [
    "http://example.com",
    "http://10.0.0.7:8000",
    "http://0.0.0.0:8000",
    "http://127.0.0.1.nip.io:8000",
    "http://localhost.example.com",
    "http://127.0.0.1@example.com",
    "ftp://127.0.0.1",
    "example.com",
]
ALLOWED = [
    "https://example.com",
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    "http://[::1]:8000",
    "http://127.8.9.10",
]


def _local_config(provider: str, options: dict[str, Any]) -> Any:
    models = {"openai": "gpt-4o-mini-2024-07-18", "azure": "gpt-4.1-mini-2025-04-14", "autotrain": "org/model"}
    models["together"] = "Qwen/Qwen3-8B"
    return parse_config(
        {"provider": provider, "model": models[provider], "data": {"train": "t.jsonl"}, "provider_options": options}
    )


# provider, how the URL is given in provider_options, and the environment variable read when it is not.
URL_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("openai", lambda url: {"base_url": url}),
    ("together", lambda url: {"base_url": url}),
    ("azure", lambda url: {"endpoint": url}),
    ("azure", lambda url: {"endpoint": "https://x.openai.azure.com", "arm": {"url": url}}),
    (
        "azure",
        lambda url: {
            "endpoint": "https://x.openai.azure.com",
            "arm": {"target": {"resource_group": "rg", "account": "acct", "endpoint": url}},
        },
    ),
    ("autotrain", lambda url: {"endpoint": url}),
    ("autotrain", lambda url: {"inference_url": url + "/models/{model}"}),
]
ENV_URLS = [
    ("openai", "OPENAI_BASE_URL"),
    ("azure", "AZURE_OPENAI_ENDPOINT"),
    ("autotrain", "HF_ENDPOINT"),
    ("together", "TOGETHER_BASE_URL"),
]


@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize(("provider", "field"), URL_FIELDS, ids=lambda v: v if isinstance(v, str) else "")
def test_plain_http_off_this_machine_is_refused(
    provider: str, field: Callable[[str], dict[str, Any]], url: str
) -> None:
    with pytest.raises(ConfigError):
        _local_config(provider, field(url))


@pytest.mark.parametrize("url", ALLOWED)
@pytest.mark.parametrize(("provider", "field"), URL_FIELDS, ids=lambda v: v if isinstance(v, str) else "")
def test_https_and_loopback_are_accepted(provider: str, field: Callable[[str], dict[str, Any]], url: str) -> None:
    _local_config(provider, field(url))


def _resolved(provider: str) -> str | None:
    options: Any = _local_config(provider, {}).options()
    return options.resolved_base_url() if provider != "autotrain" else options.resolved_endpoint()


@pytest.mark.parametrize(("provider", "variable"), ENV_URLS)
def test_endpoints_from_the_environment_are_checked_the_same_way(
    provider: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for url in REFUSED[:4]:
        monkeypatch.setenv(variable, url)
        with pytest.raises(ConfigError, match=variable):
            _resolved(provider)
    for url in ALLOWED:
        monkeypatch.setenv(variable, url)
        assert _resolved(provider) == url


# -- one driver per run -----------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(lifecycle="manual") as emu:
        yield emu


def _openai_config(emu: OpenAIEmulator, folder: Path) -> Path:
    train = write_jsonl(folder / "train.jsonl", chat_rows(12))
    options = {"base_url": emu.base_url, "poll_interval": 0.02, "retry_max_wait": 0.05, "file_poll_interval": 0.01}
    config = {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "data": {"train": train.name}}
    return write_yaml(folder / "tune.yaml", {**config, "provider_options": options})


@pytest.mark.slow
def test_a_second_process_cannot_drive_a_run_being_submitted(
    emulator: OpenAIEmulator, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path
) -> None:
    config = _openai_config(emulator, tmp_path)
    env = {**child_env, "TUNEKIT_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": emulator.api_key}
    # The first client's create request is acted on and its answer held: it is inside the run's lock.
    emulator.inject("POST /v1/fine_tuning/jobs", Fault.timeout(6.0, after_processing=True), first_n=1)
    first = cli_zygote.spawn(["submit", str(config), "--yes", "--json"], env=env, cwd=tmp_path, out=tmp_path / "first")
    deadline = time.monotonic() + 120
    while not emulator.jobs():
        assert time.monotonic() < deadline, "the first client never sent its create request"
        time.sleep(0.02)
    [run] = Ledger(tmp_path / "home" / "runs.db").runs()

    second = cli_zygote.run(["submit", str(config), "--yes"], env=env, cwd=tmp_path, out=tmp_path / "second")
    watcher = cli_zygote.run(["watch", run.run_id, "--timeout", "5"], env=env, cwd=tmp_path, out=tmp_path / "watch")
    done = cli_zygote.wait(first)
    for refused in (second, watcher):
        assert refused.code == 1, refused.stderr[-2000:]
        assert "being driven by another process" in refused.stderr
    assert done.code == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["run_id"] == run.run_id
    assert len(emulator.jobs()) == 1 and emulator.request_count("POST", "/v1/fine_tuning/jobs") == 1


@pytest.mark.slow
def test_resume_waits_for_no_one_else_driving_the_run(
    emulator: OpenAIEmulator, cli_zygote: Zygote, child_env: dict[str, str], tmp_path: Path
) -> None:
    """A resume can start work (the local provider launches a training process): never two at once."""
    config = _openai_config(emulator, tmp_path)
    env = {**child_env, "TUNEKIT_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": emulator.api_key}
    submitted = cli_zygote.run(
        ["submit", str(config), "--yes", "--json"], env=env, cwd=tmp_path, out=tmp_path / "submit"
    )
    assert submitted.code == 0, submitted.stderr[-2000:]
    run_id, job_id = json.loads(submitted.stdout)["run_id"], json.loads(submitted.stdout)["job_id"]
    emulator.advance(job_id, "running")
    emulator.advance(job_id, "paused")

    ledger = Ledger(tmp_path / "home" / "runs.db")
    with ledger.lock(run_id):  # another process is driving the run
        held = cli_zygote.run(["resume", run_id], env=env, cwd=tmp_path, out=tmp_path / "held")
    assert held.code == 1 and "being driven by another process" in held.stderr, held.stderr[-2000:]
    assert emulator.job(job_id)["status"] == "paused"
    free = cli_zygote.run(["resume", run_id], env=env, cwd=tmp_path, out=tmp_path / "free")
    assert free.code == 0, free.stderr[-2000:]
    assert emulator.job(job_id)["status"] != "paused"


def test_the_lock_is_released_when_its_holder_dies(tmp_path: Path) -> None:
    """A killed driver leaves no stale lock: the next process takes the run over."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom tunekit.ledger import Ledger\n"
            "with Ledger(sys.argv[1]).lock('run-1'):\n    print('held', flush=True)\n    time.sleep(600)\n",
            str(tmp_path / "runs.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        ledger = Ledger(tmp_path / "runs.db")
        with pytest.raises(RunLockedError), ledger.lock("run-1"):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with ledger.lock("run-1", timeout=5):
            pass
    finally:
        holder.kill()
        holder.wait()

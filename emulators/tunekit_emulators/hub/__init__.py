"""An emulator of the Hugging Face Hub for tests: repositories, uploads, HF Jobs, Spaces and chat inference.

The real ``huggingface_hub`` clients talk to it over HTTP on 127.0.0.1::

    from tunekit_emulators.hub import HubEmulator, loopback_only

    with HubEmulator(lifecycle="manual") as hub, loopback_only():
        api = hub.api()                      # HfApi(endpoint=hub.endpoint, token=hub.token)
        api.create_repo("me/data", repo_type="dataset", private=True)

Jobs and Spaces run an emulated AutoTrain/TRL container that logs steps and
losses and pushes adapter files to the model repository, unless told to fail.
"""

from tunekit_emulators.hub.container import OUTCOMES, Outcome
from tunekit_emulators.hub.emulator import HubEmulator
from tunekit_emulators.hub.session import loopback_only

__all__ = ["OUTCOMES", "HubEmulator", "Outcome", "loopback_only"]

"""The provider conformance kit: checks every tunekit provider must pass, run against its emulator.

* :mod:`~tunekit_emulators.conformance.crash` — the crash-point harness: a real ``tunekit submit``
  client SIGKILLed at every ledger step, resumed, and exactly one job counted;
* :mod:`~tunekit_emulators.conformance.zygote` — forks real CLI clients cheaply for those crashes.
"""

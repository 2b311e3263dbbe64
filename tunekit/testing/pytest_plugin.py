"""tunekit's pytest plugin: emulator fixtures for your own tests.

Registered through the ``pytest11`` entry point; it imports nothing heavy
until a fixture is used.
"""

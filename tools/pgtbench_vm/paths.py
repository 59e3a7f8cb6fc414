"""Where the tools find pgtbench's files and keep their own, in a checkout and installed.

In a checkout the tools live in <repo>/tools and work under <repo>/build (kernels, guest
runs, stack caches), next to what tools/setup builds. Installed (`meson install`), they
live in <prefix>/share/pgtbench/tools, beside the configs, the module's sources and
install.json, which meson writes with the places of the binary, the counting plugin and
fork-ref relative to that directory; their work then goes to the user's cache
($XDG_CACHE_HOME/pgtbench, default ~/.cache/pgtbench), since /usr/share is no place to
write.
"""

import json
import os
from pathlib import Path

# The checkout, or <prefix>/share/pgtbench.
ROOT = Path(__file__).resolve().parents[2]
INSTALL_JSON = ROOT / "install.json"


def installed() -> bool:
    return INSTALL_JSON.is_file()


def work_dir(name: str) -> Path:
    """<repo>/build/NAME in a checkout, <cache>/pgtbench/NAME installed."""
    if not installed():
        return ROOT / "build" / name
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pgtbench" / name


def built(key: str, in_checkout: str) -> Path:
    """A file the build made: in_checkout under <repo>/build, or where install.json's
    KEY says (relative to ROOT unless absolute)."""
    if not installed():
        return ROOT / "build" / in_checkout
    try:
        where = json.loads(INSTALL_JSON.read_text())[key]
    except (OSError, ValueError, KeyError) as e:
        raise RuntimeError(f"{INSTALL_JSON}: no '{key}' ({e})") from None
    return (ROOT / where).resolve()


def results_dir() -> Path:
    """Where results files go by default: <repo>/results, or ./results installed (as
    `pgtbench run` writes them)."""
    return Path("results") if installed() else ROOT / "results"

"""What tools/vm and tools/boot-map-mem share as programs: their exit statuses, the
usage error that is one line and exit 2 (callers and tests grep for it), and progress
messages on stderr prefixed with the program's name."""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE, EXIT_TIMEOUT, EXIT_SPLAT, EXIT_RUNNER = 2, 3, 6, 125


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line naming `name` and the help to read."""

    def __init__(self, *, name: str, **kwargs):
        super().__init__(**kwargs)
        self.name = name

    def error(self, message):
        # One line, exit 2: callers grep for it.
        print(f"{self.name}: usage error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def logger(name: str):
    """A log(msg) that prints "<name>: msg" on stderr at once (progress of long boots)."""
    def log(msg):
        print(f"{name}: {msg}", file=sys.stderr, flush=True)
    return log

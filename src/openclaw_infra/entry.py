"""The `infra` console script.

`infra recall` is on the agent's clock, so it first asks the resident service
(`infra serve`) to answer the whole command line; that path imports only the stdlib. Every
other command, and a recall the service does not answer, runs the full CLI.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> Any:
    argv = sys.argv[1:]
    if argv[:1] == ["recall"]:
        from openclaw_infra.memory.service_client import answer_argv

        code = answer_argv(argv[1:])
        if code is not None:
            raise SystemExit(code)
    from openclaw_infra.cli import main as cli_main

    return cli_main()

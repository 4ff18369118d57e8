"""The `infra` console script.

`infra recall` is on the agent's clock, so it first asks the resident service
(`infra serve`) to answer the whole command line; that path imports only the stdlib. Every
other command, and a recall the service does not answer, runs the full CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> object:
    argv = sys.argv[1:]
    if argv[:1] == ["recall"]:
        from openclaw_infra.serve.client import UNAVAILABLE, answer_argv

        outcome = answer_argv(argv[1:])
        if isinstance(outcome, int):
            raise SystemExit(outcome)
        if outcome == UNAVAILABLE:
            # it did not answer in time: waiting for it again would only delay the fallback
            argv = ["recall", "--no-service", *argv[1:]]
    # infra uses no pydantic plugins, and looking for them reads every installed package's
    # metadata when Settings is first built (~7 ms on each command)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from openclaw_infra.cli import main as cli_main

    return cli_main(argv)

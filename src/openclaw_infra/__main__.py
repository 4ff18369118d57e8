"""`python -m openclaw_infra` runs the CLI."""

from openclaw_infra.cli import main

main()

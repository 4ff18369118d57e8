"""`python -m openclaw_infra` runs the `infra` command."""

from openclaw_infra.entry import main

main()

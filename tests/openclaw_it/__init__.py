"""Integration suite against the real OpenClaw (pytest marker `openclaw`; issue 9)."""

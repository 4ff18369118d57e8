"""openclaw-infra: memory and operations toolkit for the OpenClaw assistant."""

__version__ = "0.1.0"

"""The learning loop: signed feedback buttons, the feedback log, and lessons the agent reads."""

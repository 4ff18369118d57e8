"""OpenClaw integration: paths, timezone, transcript readers (JSONL and SQLite), noise filter,
cursors. Import the module you need; this package imports nothing on its own."""

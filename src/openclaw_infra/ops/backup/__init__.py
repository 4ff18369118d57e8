"""`infra backup`: verified, restorable snapshots of infra's state (docs/backup.md).

- `catalog`: snapshot names and listing (stdlib only, what `infra health` reads),
- `sources`: what goes into a snapshot, and consistent copies of live SQLite files,
- `archive`: the format (one `.tar.zst` with `manifest.json` first),
- `verify`, `restore`, `create`, `drill`: the four operations.
"""

"""Context that survives compaction (the context pack and its injector) and signals across
agents."""

"""Dataset anonymization (Unsafe2Safe's two stages, offline producers): stage 1 flags an image and writes
its private and public captions and an identity-neutral edit instruction; stage 2 rewrites only the flagged
regions. The published manifest columns are kept exactly (``manifest.COLUMNS``); docs/anonymization.md."""

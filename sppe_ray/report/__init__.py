"""Self-contained HTML reports of an evaluation (plots embedded as base64 PNG; nothing fetched at view time)."""

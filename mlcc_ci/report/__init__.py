"""Coverage reports: a pure model and its renderers (text, JSON, Markdown, HTML)."""

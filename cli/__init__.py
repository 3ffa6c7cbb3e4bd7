"""Command-line face over the engine."""

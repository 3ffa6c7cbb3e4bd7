"""A tiny photo service written once against the Infrar SDK."""

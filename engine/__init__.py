"""The Infrar engine: detection, transformation, generation. Knows nothing of GitHub."""

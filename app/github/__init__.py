"""Everything the App says to GitHub goes through this package (PyGithub underneath)."""

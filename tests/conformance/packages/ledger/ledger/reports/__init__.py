"""Reports, two levels down: relative imports reach the settings and the re-exports."""

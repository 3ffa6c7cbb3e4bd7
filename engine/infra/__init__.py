"""Infrastructure from code: plugin data (catalog), what the code needs (inventory), the
Terraform for it (generate), its cost (cost), credentials, and plan/apply runs (runs)."""

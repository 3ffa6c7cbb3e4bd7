"""Provider plugins: data only (YAML, Jinja2 templates, Terraform modules)."""

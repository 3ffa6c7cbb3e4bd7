"""The Infrar GitHub App: webhooks in, engine runs, reviews and check runs out.

Installed as `infrar.app` behind the `app` extra; the engine never imports it.
"""

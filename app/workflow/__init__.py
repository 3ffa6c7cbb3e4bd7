"""The pull-request workflow, step by step: each module is one step or one handler."""

"""The ledger as a loose script at the top of the tree: `python run_ledger.py`.

It prints what `python -m ledger.main` prints; an SDK error that escapes `main` (raised in one
of the package's modules) is caught here and fails the run.
"""

import sys

from ledger.main import main

from infrar.storage import StorageError

if __name__ == "__main__":
    try:
        main()
    except StorageError as error:
        print(f"unexpected {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)

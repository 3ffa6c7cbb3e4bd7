"""Where the ledger keeps things.

ARCHIVE and VOID are literals assigned once, imported by the other modules (the conformance
test writes fresh bucket names into them when it copies the tree; VOID is never created).
INBOX is only known at run time.
"""

import os

ARCHIVE = "conformance-archive-bucket"
VOID = "conformance-missing-bucket"
INBOX = os.environ["CONFORMANCE_BUCKET"]

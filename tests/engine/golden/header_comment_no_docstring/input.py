# Copyright 2024 Example Corp.
# All rights reserved.

import infrar.storage as storage

storage.delete("tmp", "stale")

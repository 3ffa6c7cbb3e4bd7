# Copyright 2024 Example Corp.
# All rights reserved.

import infrar_native.storage as storage

storage.delete("tmp", "stale")

"""The SDK import is not the first statement."""
import logging
log = logging.getLogger(__name__)

import infrar_native.storage as storage

log.info("%s", storage.exists("b", "k"))

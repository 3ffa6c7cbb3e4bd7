"""Bucket names: one literal constant, one from the environment."""

import os
from typing import Final

PICTURES: Final = "conformance-archive-bucket"
UPLOADS = os.environ["CONFORMANCE_BUCKET_2"]

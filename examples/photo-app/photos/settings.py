"""Where the service keeps things: logical names, the same in every environment."""

PHOTOS = "photos"  # a bucket
THUMBNAILS = "thumbnails"  # a queue of photos waiting for a thumbnail
CATALOG = "catalog"  # a key-value table: what is known of each photo
SIGNING_KEY = "signing-key"  # a secret

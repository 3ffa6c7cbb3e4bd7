"""Where the service keeps things: logical names, the same in every environment."""

PHOTOS = "photos"

"""The gallery as a loose script at the top of the tree: `python run_gallery.py`."""

import gallery.main

import infrar

if __name__ == "__main__":
    try:
        gallery.main.main()
    except infrar.storage.StorageError as error:
        raise SystemExit(f"unexpected {type(error).__name__}: {error}") from None

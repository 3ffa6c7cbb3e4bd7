"""A module that never mentions the SDK: it must come out byte for byte as it went in."""
import os


def main():
    return os.environ.get("HOME")

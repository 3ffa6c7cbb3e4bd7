"""The kv contract for values and keys: what is put comes back equal, the limits hold, and
the errors are the SDK's, whatever the provider."""

import os

from infrar.kv import KeyNotFoundError, KVError, TableNotFoundError, delete, get, put

TABLE = os.environ["CONFORMANCE_TABLE"]
MISSING_TABLE = os.environ["CONFORMANCE_MISSING_TABLE"]
LIMIT = 65536  # bytes of compact UTF-8 JSON


def deep(levels):
    value = {}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


def sized(size, unit):
    """An object whose compact JSON is exactly `size` bytes, made of `unit` characters."""
    frame = len('{"s":""}')
    width = len(unit.encode("utf-8"))
    count, rest = divmod(size - frame, width)
    return {"s": unit * count + "x" * rest}


def raises(kind, action):
    """Whether `action()` raises `kind`, an error of the SDK."""
    try:
        action()
    except kind as error:
        return f"raises {kind.__name__}: {isinstance(error, KVError)}"
    return f"raises {kind.__name__}: False"


VALUES = {
    "nested": {"user": {"name": "Zoë", "tags": ["a", "b"], "scores": [1, 2.5, -3]},
               "empty": {"list": [], "object": {}}, "flags": [True, False, None]},
    "numbers": {"int": 7, "negative": -42, "big": 2**64 + 1, "huge": -(10**40),
                "float": 0.1, "tiny": 5e-324, "large": 1.7976931348623157e308,
                "negative_zero": -0.0, "exponent": 1e21},
    "text": {"quote": 'say "hi"', "backslash": "a\\b", "newline": "one\ntwo\tthree",
             "control": "\x00\x1f\x7f", "unicode": "日本語 ☃ 😀", "empty": ""},
    "order": {"z": 1, "a": 2, "m": {"y": 1, "b": 2}},
    "deepest": deep(64),
}

KEYS = [
    "plain", "user/42", "a#b?c\\d%e", "%2F", "..", ".", "__init__", "café", "😀", "UPPER",
    "upper", "with space", "'quoted'", "plus+sign", "x" * 128, "Ā" * 128,
]

print("values:")
for name, value in VALUES.items():
    put(TABLE, name, value)
    back = get(TABLE, name)
    print(f"  {name}: equal {back == value}, same text {repr(back) == repr(value)}")
print(f"  floats keep their sign and bits: {repr(get(TABLE, 'numbers')['negative_zero'])}")
print(f"  key order kept: {list(get(TABLE, 'order'))} {list(get(TABLE, 'order')['m'])}")

print("keys:")
for index, key in enumerate(KEYS):
    put(TABLE, key, {"index": index, "key": key})
for index, key in enumerate(KEYS):
    print(f"  {key[:20]!r} ({len(key)}): {get(TABLE, key) == {'index': index, 'key': key}}")
print(f"  'upper' and 'UPPER' are two keys: {get(TABLE, 'upper') != get(TABLE, 'UPPER')}")

print("replacing:")
put(TABLE, "replaced", {"big": "x" * 60000, "extra": [1, 2, 3]})
put(TABLE, "replaced", {"small": True})
print(f"  a smaller value replaces a larger one whole: {get(TABLE, 'replaced')}")

print("the 64 KiB limit:")
for unit in ("a", "é", "€", "😀"):
    put(TABLE, f"limit-{unit}", sized(LIMIT, unit))
    back = get(TABLE, f"limit-{unit}")
    print(f"  exactly {LIMIT} bytes of {unit!r} round-trips: {back == sized(LIMIT, unit)}")
    over = sized(LIMIT + 1, unit)
    print(f"  one byte more {raises(KVError, lambda v=over: put(TABLE, 'over', v))}")
stored = raises(KeyNotFoundError, lambda: get(TABLE, "over"))
print(f"  nothing was stored for the refused value {stored}")

print("refused values:")
refused = {
    "a list": [1, 2],
    "a str": "text",
    "None": None,
    "an int key": {1: "one"},
    "a tuple": {"t": (1, 2)},
    "a set": {"s": {1}},
    "bytes": {"b": b"x"},
    "NaN": {"n": float("nan")},
    "infinity": {"n": float("-inf")},
    "65 levels": deep(65),
    "a lone surrogate": {"s": "\ud800"},
}
for label, value in refused.items():
    print(f"  {label} {raises(KVError, lambda v=value: put(TABLE, 'refused', v))}")
loop = {}
loop["self"] = loop
print(f"  an object inside itself {raises(KVError, lambda: put(TABLE, 'refused', loop))}")
print(f"  none was stored {raises(KeyNotFoundError, lambda: get(TABLE, 'refused'))}")

print("refused keys:")
for label, key in {"empty": "", "129 characters": "k" * 129, "a newline": "a\nb",
                   "a tab": "a\tb", "DEL": "a\x7fb", "a C1 control": "a\x85b",
                   "an int": 42, "None": None, "bytes": b"key"}.items():
    print(f"  {label} {raises(KVError, lambda k=key: put(TABLE, k, {}))}")
    print(f"  {label} on get {raises(KVError, lambda k=key: get(TABLE, k))}")

print("errors:")
print(f"  get of a missing key {raises(KeyNotFoundError, lambda: get(TABLE, 'never'))}")
delete(TABLE, "never")
print("  delete of a missing key: no error")
delete(TABLE, "plain")
print(f"  get after delete {raises(KeyNotFoundError, lambda: get(TABLE, 'plain'))}")
missing = TableNotFoundError
print(f"  put on a missing table {raises(missing, lambda: put(MISSING_TABLE, 'k', {}))}")
print(f"  get on a missing table {raises(missing, lambda: get(MISSING_TABLE, 'k'))}")
print(f"  delete on a missing table {raises(missing, lambda: delete(MISSING_TABLE, 'k'))}")
try:
    get(MISSING_TABLE, "k")
except KeyNotFoundError:
    print("  a missing table is not a missing key: False")
except KVError as error:
    print(f"  a missing table is not a missing key: {type(error).__name__ == 'TableNotFoundError'}")

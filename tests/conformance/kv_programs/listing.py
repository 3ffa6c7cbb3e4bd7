"""The kv contract for scan: every key across pages, sorted, filtered by prefix."""

import os

from infrar.kv import KVError, TableNotFoundError, delete, put, scan

TABLE = os.environ["CONFORMANCE_TABLE"]
MISSING_TABLE = os.environ["CONFORMANCE_MISSING_TABLE"]
# More keys than one page holds on every provider: 1,000 entities (Table Storage), 1,000
# documents (Firestore, as the rules ask), and 1 MB of items (DynamoDB) at over 1 KiB each.
PAGED = 1010
PAD = "p" * 1100


def raises(kind, action):
    """Whether `action()` raises `kind`, an error of the SDK."""
    try:
        action()
    except kind as error:
        return f"raises {kind.__name__}: {isinstance(error, KVError)}"
    return f"raises {kind.__name__}: False"


print(f"an empty table: {scan(TABLE)}")
keys = ["b", "a", "ab", "a/b", "a#b", "a?b", "a%b", "a\\b", "A", "Ab", "é", "e", "😀", "\uffff",
        "user/2", "user/10", "user/1", "users", "~tilde", "a b", "it's", "@at", "eq=x"]
for key in keys:
    put(TABLE, key, {"key": key})
print(f"sorted as str: {scan(TABLE) == sorted(keys)}")
print(f"all keys: {scan(TABLE)}")
for prefix in ("a", "a/", "a#", "a%", "a\\", "user/", "user/1", "A", "é", "😀", "users", "z", "b",
               "a ", "it'", "@", "eq="):
    print(f"prefix {prefix!r}: {scan(TABLE, prefix)}")
print(f"prefix by keyword: {scan(TABLE, prefix='user')}")
print(f"a prefix is no pattern: {scan(TABLE, '%')} {scan(TABLE, '.*')} {scan(TABLE, '_')}")
delete(TABLE, "ab")
print(f"after a delete: {scan(TABLE, 'a')}")
put(TABLE, "a", {"again": True})
print(f"putting a key twice lists it once: {scan(TABLE, 'a')}")

for index in range(PAGED):
    put(TABLE, f"page/{index:04d}", {"index": index, "pad": PAD})
paged = scan(TABLE, "page/")
print(f"across pages: {len(paged)} keys, first {paged[0]}, last {paged[-1]}")
print(f"every one, in order: {paged == [f'page/{i:04d}' for i in range(PAGED)]}")
print(f"and the rest: {len(scan(TABLE)) == PAGED + len(keys) - 1}")

print(f"scan of a missing table {raises(TableNotFoundError, lambda: scan(MISSING_TABLE))}")
bad_prefixes = {"None": None, "an int": 7, "a newline": "a\n", "129 characters": "p" * 129}
for label, prefix in bad_prefixes.items():
    print(f"prefix {label} {raises(KVError, lambda p=prefix: scan(TABLE, p))}")

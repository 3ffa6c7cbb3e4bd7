"""The secrets contract, printed: the transcript must read the same on every provider.

The secrets named by the three constants exist (Terraform makes them; the test makes them
first): API_TOKEN and UNSET hold no value, VERSIONED holds two versions, of which the test
passes the first one's ID and an ID of no version, both in the provider's own format.
"""

import os

from infrar.secrets import SecretNotFoundError, SecretsError, get_secret, set_secret

API_TOKEN = "conformance-api-token-secret"
UNSET = "conformance-unset-secret"
VERSIONED = "conformance-versioned-secret"
OLD_VERSION = os.environ["CONFORMANCE_OLD_VERSION"]
UNKNOWN_VERSION = os.environ["CONFORMANCE_UNKNOWN_VERSION"]
CANARY = os.environ["CONFORMANCE_CANARY"]
MISSING = os.environ["CONFORMANCE_MISSING_SECRET"]


def failure(call):
    """The exception `call()` raises, or None."""
    try:
        call()
    except Exception as error:  # the transcript names whatever it was
        return error
    return None


def raises(label, expected, call):
    error = failure(call)
    shown = type(error).__name__ if error is not None else "nothing"
    print(f"{label} raises {expected.__name__}: {isinstance(error, expected)} ({shown})")
    return error


print("set returns:", set_secret(API_TOKEN, "first token"))
print("get after set:", repr(get_secret(API_TOKEN)))
set_secret(API_TOKEN, "second token")
print("get after a second set:", repr(get_secret(API_TOKEN)))
text = "pässwörd ☃ 🔑 line\nbreak\ttab \"quotes\" 'apostrophes' \\ ${x} %s"
set_secret(API_TOKEN, text)
print("unicode and punctuation come back unchanged:", get_secret(API_TOKEN) == text)
largest = "é" * 12_500  # 25,000 bytes of UTF-8: the portable limit
set_secret(API_TOKEN, largest)
print("a 25,000-byte value comes back unchanged:", get_secret(API_TOKEN) == largest)
raises("a 25,001-byte value", ValueError, lambda: set_secret(API_TOKEN, largest + "x"))
print("the refused value left the secret as it was:", get_secret(API_TOKEN) == largest)
raises("an empty value", ValueError, lambda: set_secret(API_TOKEN, ""))
raises("a bytes value", TypeError, lambda: set_secret(API_TOKEN, b"bytes"))
raises("a lone surrogate", ValueError, lambda: set_secret(API_TOKEN, "half \ud800 of a pair"))

# Not literals: a literal invalid name is refused by `infrar transform` already.
INVALID_NAMES = ("Upper-Case", "under_score", "", "-leading", "trailing-", "a" * 128, "dot.ted", 7)
for invalid in INVALID_NAMES:
    raises(f"name {invalid!r:.20}", SecretsError, lambda name=invalid: get_secret(name))
error = failure(lambda: get_secret(INVALID_NAMES[0]))
print("an invalid name is not a missing secret:", not isinstance(error, SecretNotFoundError))
raises("a valid name of 127 characters that no secret has", SecretNotFoundError,
       lambda: get_secret("a" * 127))
raises("a secret nobody made", SecretNotFoundError, lambda: get_secret(MISSING))
raises("a made secret that holds no value yet", SecretNotFoundError, lambda: get_secret(UNSET))
print("SecretNotFoundError is a SecretsError:", issubclass(SecretNotFoundError, SecretsError))
try:
    get_secret(UNSET)
except SecretsError as caught:
    print("except SecretsError catches a missing value:", type(caught).__name__)

print("latest version:", repr(get_secret(VERSIONED)))
print("the first version, by its ID:", repr(get_secret(VERSIONED, version=OLD_VERSION)))
print("version=None is the latest:", repr(get_secret(VERSIONED, version=None)))
raises("an unknown version ID", SecretNotFoundError,
       lambda: get_secret(VERSIONED, version=UNKNOWN_VERSION))
raises("the alias 'latest'", SecretNotFoundError,
       lambda: get_secret(VERSIONED, version="latest"))
raises("an empty version", SecretNotFoundError, lambda: get_secret(VERSIONED, version=""))
raises("a version that is not a str", TypeError, lambda: get_secret(VERSIONED, version=1))

set_secret(API_TOKEN, CANARY)
print("the canary comes back:", get_secret(API_TOKEN) == CANARY)
errors = [
    failure(lambda: set_secret(API_TOKEN, CANARY + "x" * 25_000)),
    failure(lambda: set_secret(INVALID_NAMES[0], CANARY)),
    failure(lambda: set_secret(API_TOKEN, CANARY.encode())),
]
print("three refusals of the canary:", [type(e).__name__ for e in errors])
print("no message shows the value:", not [e for e in errors if CANARY in str(e) + repr(e)])

"""Secrets never reach the logs, whoever logs them."""

from __future__ import annotations

import logging

import pytest

from infrar.app.logs import REDACTED, ScrubSecrets, scrub


@pytest.mark.parametrize("secret", [
    "ghs_16CharactersOrMoreAbcdef0123",
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyIn0.c2lnbmF0dXJlLXN0dWZm",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
])
def test_scrub(secret: str) -> None:
    assert secret not in scrub(f"token {secret} used") and REDACTED in scrub(secret)


def test_filter_scrubs_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("infrar.test.scrub")
    logger.addFilter(ScrubSecrets())
    token = "ghs_0123456789abcdefghij"
    with caplog.at_level(logging.INFO, logger="infrar.test.scrub"):
        logger.info("header AUTHORIZATION: basic %s", "eC1hY2Nlc3MtdG9rZW46Z2hzXw==")
        try:
            raise RuntimeError(f"push failed with {token}")
        except RuntimeError:
            logger.exception("failed")
    assert token not in caplog.text and "eC1hY2Nlc3MtdG9rZW46" not in caplog.text

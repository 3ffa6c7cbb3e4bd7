# The two commands of the README: `make demo` (install, then run the main job on the embedded
# `local` provider) and `make test` (install what tests need, then run them).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[local]"

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	test -x .venv-checkov/bin/checkov || ($(PYTHON) -m venv .venv-checkov && .venv-checkov/bin/pip install --quiet checkov)
	bash tests/install-emulators.sh
	# The dashboard tests drive Debian's Chromium and its driver (as root, as CI runs).
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver)
	# The image tests build with Debian's buildah on a base that mmdebstrap makes from Debian packages.
	test -x /usr/bin/buildah -a -x /usr/bin/mmdebstrap || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah mmdebstrap)

demo: install
	bash scripts/demo.sh $(BIN)

test: install-test
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

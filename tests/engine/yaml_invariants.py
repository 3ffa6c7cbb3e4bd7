"""The contract of configuration and plugin YAML on one document: it loads, or it gives a
clear error with file:line (`YamlError`, `ConfigError`); never another exception.

`check_yaml` is the oracle shared by the fuzzer (bench/fuzz_engine.py --target yaml), the
generated documents of test_fuzz_properties.py and the regression inputs under
fuzz_regressions/. The caller points XDG_CACHE_HOME at a scratch folder: the cached reading is
compared with the fresh one.
"""

from __future__ import annotations

from pathlib import Path

from infrar.engine.config import ConfigError, ProjectConfig, load_config
from infrar.engine.diagnostics import EngineError
from infrar.engine.pipeline import deployment_targets
from infrar.engine.yamlio import YamlError, parse_yaml

SHOWN = Path("fuzz.yaml")


class YamlViolation(AssertionError):
    """The YAML reader or the configuration broke the contract on a document."""


def _fail(message: str, data: bytes) -> YamlViolation:
    shown = data if len(data) <= 2000 else data[:2000] + b"..."
    return YamlViolation(f"{message}\n--- document ---\n{shown!r}")


def _line_count(text: str) -> int:
    return len(text.splitlines()) + 1


def check_yaml(data: bytes, work: Path) -> ProjectConfig | None:
    """Read `data` as a YAML document and as `.infrar.yaml` (written under `work`); raise
    `YamlViolation` (or what escaped) when the contract does not hold. The configuration, when
    it loads."""
    text = data.decode("utf-8", "replace")
    lines = _line_count(text)
    try:
        fresh = parse_yaml(text, SHOWN, cache=False)
    except YamlError as exc:
        if not 1 <= exc.line <= lines or not str(exc).startswith(f"{SHOWN}:{exc.line}: ") \
                or "\n" in str(exc):
            raise _fail(f"YamlError without its line, or on more than one: {exc!r}",
                        data) from None
    else:
        for _ in range(2):  # written to the cache, then read back from it
            cached = parse_yaml(text, SHOWN, cache=True)
            # repr: NaN is never equal to itself, and 1 == 1.0 == True
            if repr((cached.data, cached.lines)) != repr((fresh.data, fresh.lines)):
                raise _fail(f"the cache reads {cached.data!r}, the parser {fresh.data!r}", data)
    config = work / ".infrar.yaml"
    config.write_bytes(data)
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        prefix = f"{config}:"
        for problem in exc.problems:
            line = problem[len(prefix):].split(":", 1)[0] if problem.startswith(prefix) else ""
            if not line.isdigit() or not 1 <= int(line) <= max(lines, 1) or "\n" in problem:
                raise _fail(f"ConfigError without file:line: {problem!r}", data) from None
        return None
    try:
        deployment_targets(loaded, fallback_provider="local")
    except EngineError as exc:
        raise _fail(f"a configuration that loads has no targets: {exc}", data) from None
    return loaded


class PluginCopy:
    """A copy of a built-in provider under `work`, one of whose YAML files a check replaces
    (and puts back after)."""

    def __init__(self, work: Path, provider: str = "local") -> None:
        import shutil

        from infrar.engine.plugins import builtin_root

        self.root = work / "plugins" / provider
        if not self.root.is_dir():
            shutil.copytree(builtin_root() / provider, self.root)
        self.files = sorted(self.root.rglob("*.yaml"))


def check_plugin(data: bytes, copy: PluginCopy) -> list[str]:
    """`data` as one YAML file of a provider plugin (the first byte picks which; the rest is
    the document): validating the plugin lists problems as `file:line: ...` and raises
    nothing; its rules, when `data` is a rules file, load or raise EngineError."""
    from infrar.engine.infra.catalog import validate_plugin_dir
    from infrar.engine.plugins import load_rules_file

    target = copy.files[data[0] % len(copy.files)] if data else copy.files[0]
    original = target.read_bytes()
    target.write_bytes(data[1:])
    try:
        problems = validate_plugin_dir(copy.root)
        for problem in problems:
            where, _, rest = problem.partition(": ")
            file, _, line = where.rpartition(":")
            if not problem.startswith(str(copy.root)) or not rest or not (
                    line.isdigit() or where.endswith(".yaml")):
                raise _fail(f"a plugin problem without file:line: {problem!r}", data)
        if target.name == "rules.yaml":
            try:
                load_rules_file(copy.root.name, target)
            except EngineError as exc:
                if str(copy.root) not in str(exc):
                    raise _fail(f"a rules error without its file: {exc}", data) from None
    finally:
        target.write_bytes(original)
    return problems

#!/usr/bin/env python3
"""Coverage-guided fuzzing of the engine with atheris (libFuzzer for Python), bounded in time.

Two targets, one per process:

  engine  `transform_source` and `detect_source` on arbitrary bytes: libFuzzer's own mutations
          mixed with SDK snippets spliced in at line starts (every import form, calls with
          literal, constant and dynamic names, f-strings, submodules, rebinding, coding
          declarations, NUL, BOM, deep nesting). Seeds: tests/engine/golden/*/input.py. Each
          input goes through tests/engine/engine_invariants.py: no exception; a refusal is a
          diagnostic at file:line:col; an output compiles, is a fixed point, keeps every byte
          outside the SDK's imports and names, and imports nothing from the SDK.
  yaml    `parse_yaml` and `load_config` on arbitrary text, mutated with YAML snippets (anchors,
          aliases, tags, merge keys, deep nesting, odd scalars, tabs, BOM). Seeds: the
          `.infrar.yaml` examples of docs/ and examples/, and every YAML file of the providers.
          Only `YamlError` and `ConfigError` may escape, with file:line; the cached reading
          equals the fresh one.
  plugin  one YAML file of a copy of the `local` provider (the first byte picks which) replaced
          by arbitrary text: validating the plugin lists problems as file:line and raises
          nothing; a rules file loads or raises EngineError. Seeds: that provider's files.

An exception or a broken invariant stops the run: libFuzzer writes the input to the
artifacts folder (crash-<sha1>) and the traceback names the invariant. An input slower than
--slow seconds is reported and kept as slow-<sha1>; one slower than --timeout is a crash.

    .venv/bin/python bench/fuzz_engine.py --target engine --time 60
    .venv/bin/python bench/fuzz_engine.py --target yaml --time 60 -runs=20000
    .venv/bin/python bench/fuzz_engine.py --target engine crash-1234abcd   # replay inputs

Options after the known ones starting with `-` go to libFuzzer (`-runs=`, `-seed=`,
`-max_len=`, `-jobs=`...); bare paths are files to replay. Work files (corpus, cache folder,
artifacts) go to a temporary folder unless --corpus / --artifacts name one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))  # the shared oracles, *_invariants.py

import atheris  # noqa: E402  (after the path, before the instrumented imports)

MAX_LEN = 16_384

# --- SDK snippets for the engine target ---------------------------------------------------------

PYTHON_SNIPPETS = [
    "import infrar\n", "import infrar.storage\n", "import infrar.storage as s\n",
    "import infrar.storage.errors\n", "import infrar.storage.errors as e\n",
    "import infrar.queue as q\n", "import infrar.secrets\n", "import infrar.nothing\n",
    "from infrar import storage\n", "from infrar import storage as s\n",
    "from infrar import *\n", "from infrar.storage import *\n",
    "from infrar.storage.errors import *\n", "from infrar.storage import read, write\n",
    "from infrar.storage import read as r, upload\n", "from infrar.storage import errors\n",
    "from infrar.storage import (\n    read,\n    exists,\n)\n",
    "from infrar.storage.types import ObjectInfo\n", "from infrar.storage import nope\n",
    "from infrar.secrets import get_secret\n", "from infrar.queue import send\n",
    "from .store import read\n", "from . import infrar\n", "import infrar_native\n",
    "s.read('photos', 'k')\n", "read('photos', key)\n", "r(BUCKET, 'k')\n",
    "infrar.storage.read('b', 'k')\n", "storage.upload(BUCKET, 'a', 'b')\n",
    "upload('b', 'src', 'dst', content_type='text/plain')\n", "s.write(name, 'k', b'x')\n",
    "s.copy('a', 'k', 'k2', destination_bucket='c')\n", "s.list_objects(bucket=b)\n",
    "s.exists(**kw)\n", "s.read(*args)\n", "s.read('b')\n", "s.read('b', 'k', x=1)\n",
    "get_secret('token')\n", "send('jobs', b'm')\n", "BUCKET = 'photos'\n",
    "BUCKET: Final = 'photos'\n", "A, B = 'a', 'b'\n", "x = f'{s.read(\"b\", \"k\")}'\n",
    "x = f'{infrar.storage.exists(\"b\", \"k\") = }'\n", "x = [s.read('b', k) for k in ks]\n",
    "x = {k: read('b', k) for k in ks}\n", "f = s.read\n", "f = getattr(s, 'read')\n",
    "g = getattr(storage, name)\n", "s = None\n", "read = 1\n", "infrar = 2\n",
    "global s\n", "nonlocal s\n", "del s\n", "for s in x: pass\n", "with a as s: pass\n",
    "(s := 1)\n", "lambda: s.read('b', 'k')\n", "s.errors.StorageError\n",
    "infrar.storage.errors.ObjectNotFoundError\n", "except s.ObjectNotFoundError:\n",
    "def f(x: 'infrar.storage.ObjectInfo') -> \"infrar.storage.types.ObjectInfo\":\n",
    "info: 'infrar.storage.ObjectInfo' = None\n", "class C(s.StorageError):\n",
    "class Store:\n    import infrar.storage as s\n    data = s.read('b', 'k')\n",
    "def f():\n    import infrar.storage as s\n    return s.read('b', 'k')\n",
    "async def f():\n    await s.read('b', 'k')\n", "@s.read('b', 'k')\n",
    "def f(a=s.read('b', 'k')): pass\n", "match x:\n    case infrar: pass\n",
    "try:\n    import infrar.storage as s\nexcept ImportError:\n    s = None\n",
    "if TYPE_CHECKING:\n    from infrar.storage import ObjectInfo\n",
    "import importlib\nm = importlib.import_module('infrar.storage')\n",
    "__import__('infrar.storage')\n", "exec('import infrar')\n", "infrar_native = 0\n",
    "def run(infrar_native): pass\n", "x = 1; import infrar.storage as s; s.read('b', 'k')\n",
    "if x: from infrar.storage import errors, read\n", "from \\\n infrar.storage import read\n",
    "from\tinfrar . storage import read\n", "import infrar . storage as s\n",
    "from \uff49nfrar.storage import read\n", "import ｉｎｆｒａｒ.storage as s\n",
    "# -*- coding: utf-8 -*-\n", "# coding: latin-1\n", "# coding: utf-7\n",
    "import +AGkAbgBmAHIAYQBy-.storage as s\n", "x = '\\N{LATIN SMALL LETTER I}nfrar'\n",
    "\ufeff", "\x00", "\x0c", "\\\n", "\r\n", "\r", "\t", "    ", "'''\n", '"""', "#",
    "x = " + "(" * 60 + "1" + ")" * 60 + "\n", "x = " + "+".join(["1"] * 300) + "\n",
    "if x:\n" + "".join("    " * i + "if x:\n" for i in range(1, 30)) + "    " * 30 + "pass\n",
    "type X = int\n", "def f[T](x: T) -> T: ...\n", "print(*s.read('b', 'k'))\n",
    "def setup():\n    global s\n    import infrar.storage as s\n",
    "def setup():\n    global infrar\n    import infrar.storage\n", "import infrar.kv as s\n",
    "from infrar.kv import delete\n", "delete('b', 'k')\n", "s.delete('b', 'k')\n",
    "from infrar.storage \\\r    import read\r",
]
RAW_SNIPPETS = [b"\xff", b"\xc3", b"\xe9t\xe9", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\x00",
                b"infr\xaar", b"\xaa"]
WRAPPERS = ["def f(key):\n", "class C:\n", "if x:\n", "for k in names:\n", "with ctx():\n",
            "try:\n", "while x:\n", "async def g():\n", "def outer():\n    s = 1\n    def f():\n"]

# --- YAML snippets for the yaml target ----------------------------------------------------------

YAML_SNIPPETS = [
    "version: 1\n", "project: photo-app\n", "provider: local\n", "provider: aws\n",
    "region: eu-west-1\n", "paths: [src, lib]\n", "output: build\n", "naming: '{project}-{name}'\n",
    "environments:\n  dev:\n    provider: local\n  prod:\n    apply_on_merge: true\n",
    "backend:\n  bucket: state\n", "apply_requirements: [approved, mergeable]\n",
    "a: &a [x, y]\n", "b: *a\n", "c: &c {k: *c}\n", "<<: *a\n", "m: &m {k: v}\n", "n: {<<: *m}\n",
    "? [a, b]\n: 1\n", "? complex\n", "!!python/object:os.system ls\n", "x: !!binary aGk=\n",
    "x: !!str 1\n", "x: !!int '12'\n", "x: !custom v\n", "%YAML 1.1\n---\n", "%TAG ! tag:x,1:\n",
    "---\n", "...\n", "x: 1e999999\n", "x: 0x_1F\n", "x: 1_000_000\n", "x: " + "9" * 5000 + "\n",
    "x: .inf\n", "x: .NaN\n", "x: 2001-12-14t21:59:43.10-05:00\n", "x: 2024-02-30\n",
    "x: ~\n", "x: yes\n", "x: 'a\\nb'\n", 'x: "\\ud800"\n', 'x: "\\x00"\n', "x: |\n  a\n b\n",
    "x: >-\n  folded\n", "x: |2#\n", "- a\n- b\n", "[" * 70 + "]" * 70 + "\n",
    "{" * 40 + "}" * 40 + "\n", "x:\n\t- a\n", "\t", "\ufeff", "\u2028", "\x85", "\x00", "&a ",
    "*a", "*nope\n", "key: value\nkey: again\n", "version: 1\nversion: 2\n", "'': empty\n",
    "1: int key\n", "null: null key\n", "[a, b]: flow key\n", "x: [a, ? b]\n", "x: {a: b, c}\n",
    "x: @reserved\n", "x: `tick\n", "x: 'unterminated\n", "  bad indent\n", "x: y: z\n",
]


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    for i, byte in enumerate(data):
        if byte in b"\n\r" and not (byte == 13 and data[i + 1:i + 2] == b"\n"):
            starts.append(i + 1)
    return starts


def _indent_at(data: bytes, start: int) -> bytes:
    end = start
    while end < len(data) and data[end:end + 1] in (b" ", b"\t"):
        end += 1
    return data[start:end]


def _snippet_mutator(snippets: list[bytes], raw: list[bytes], wrappers: list[bytes]
                     ) -> Callable[[bytes, int, int], bytes]:
    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        choice = rng.random()
        if choice < 0.4 or not data:
            out = atheris.Mutate(data, max_size) if data else rng.choice(snippets)
            return out[:max_size]
        starts = _line_starts(data)
        at = rng.choice(starts)
        indent = _indent_at(data, at)
        if choice < 0.7:  # a snippet spliced in at a line start, at that line's indentation
            snippet = rng.choice(snippets)
            lines = snippet.splitlines(True)
            piece = b"".join(indent + line for line in lines) if rng.random() < 0.7 else snippet
            out = data[:at] + piece + data[at:]
        elif choice < 0.78:  # a raw byte sequence anywhere
            spot = rng.randrange(len(data) + 1)
            out = data[:spot] + rng.choice(raw) + data[spot:]
        elif choice < 0.86 and wrappers:  # a run of lines wrapped in a block
            end = rng.choice([s for s in starts if s >= at] + [len(data)])
            block = data[at:end].splitlines(True) or [b"pass\n"]
            wrapper = rng.choice(wrappers)
            inner = _indent_at(wrapper.splitlines()[-1], 0) + b"    "
            out = data[:at] + wrapper + b"".join(inner + line for line in block) + data[end:]
        elif choice < 0.93:  # a line deleted or duplicated
            index = starts.index(at)
            end = starts[index + 1] if index + 1 < len(starts) else len(data)
            out = data[:at] + (data[at:end] * 2 if rng.random() < 0.5 else b"") + data[end:]
        else:  # another line ending throughout
            newline = rng.choice([b"\n", b"\r\n", b"\r"])
            out = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", newline)
        return out[:max_size]

    return mutate


def _crossover(first: bytes, second: bytes, max_size: int, seed: int) -> bytes:
    """Whole lines of one input spliced into the other."""
    rng = random.Random(seed)
    a, b = first.splitlines(True), second.splitlines(True)
    if not a or not b:
        return (first + second)[:max_size]
    cut_a, cut_b = rng.randrange(len(a) + 1), rng.randrange(len(b) + 1)
    return b"".join(a[:cut_a] + b[cut_b:cut_b + rng.randrange(1, 8)] + a[cut_a:])[:max_size]


# --- targets ------------------------------------------------------------------------------------


class Timing:
    """Inputs slower than `slow` seconds are reported and kept (a shared machine is noisy, so
    only libFuzzer's -timeout makes a slow input a crash)."""

    def __init__(self, slow: float, artifacts: Path) -> None:
        self.slow, self.artifacts, self.reported = slow, artifacts, 0

    def run(self, check: Callable[[bytes], None], data: bytes) -> None:
        start = time.perf_counter()
        check(data)
        elapsed = time.perf_counter() - start
        if elapsed > self.slow:
            again = time.perf_counter()
            check(data)
            elapsed = min(elapsed, time.perf_counter() - again)
        if elapsed > self.slow:
            name = f"slow-{hashlib.sha1(data).hexdigest()}"
            (self.artifacts / name).write_bytes(data)
            self.reported += 1
            print(f"\nSLOW INPUT: {elapsed:.2f} s, {len(data)} bytes, kept as "
                  f"{self.artifacts / name}", file=sys.stderr)


def engine_target() -> Callable[[bytes], None]:
    from engine_invariants import check_source

    def check(data: bytes) -> None:
        check_source(data, path="fuzz.py")

    return check


def yaml_target(work: Path) -> Callable[[bytes], None]:
    from yaml_invariants import check_yaml

    import infrar.engine.yamlparser  # noqa: F401  imported here to be instrumented (and yaml)

    def check(data: bytes) -> None:
        check_yaml(data, work)

    return check


def plugin_target(work: Path) -> Callable[[bytes], None]:
    from yaml_invariants import PluginCopy, check_plugin

    import infrar.engine.infra.catalog  # noqa: F401  imported here to be instrumented
    import infrar.engine.yamlparser  # noqa: F401

    copy = PluginCopy(work)

    def check(data: bytes) -> None:
        check_plugin(data, copy)

    return check


def _keep_first_byte(mutate: Callable[[bytes, int, int], bytes]
                     ) -> Callable[[bytes, int, int], bytes]:
    """The plugin target's first byte picks the file: mutated now and then, the rest often."""
    def mutated(data: bytes, max_size: int, seed: int) -> bytes:
        if not data or seed % 16 == 0:
            return atheris.Mutate(data, max_size)
        return data[:1] + mutate(data[1:], max_size - 1, seed)

    return mutated


# --- seeds --------------------------------------------------------------------------------------


def engine_seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "tests/engine/golden").glob("*/input.py"))]


def yaml_seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted(ROOT.glob("examples/*/.infrar.yaml"))]
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for block in text.split("```yaml\n")[1:]:
            seeds.append(block.split("```", 1)[0].encode())
    seeds += [p.read_bytes() for p in sorted((ROOT / "providers").rglob("*.yaml"))][:60]
    seeds += [b"paths: &a [*a]\n", b"version: 1\n? [a, b]\n: 1\n",
              b"a: &a [" + b", ".join([b"lol"] * 9) + b"]\nb: &b [" + b", ".join([b"*a"] * 9)
              + b"]\n"]
    return seeds


def plugin_seeds() -> list[bytes]:
    files = sorted((ROOT / "providers" / "local").rglob("*.yaml"))
    return [bytes([i]) + p.read_bytes() for i, p in enumerate(files)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["engine", "yaml", "plugin"], default="engine")
    parser.add_argument("--time", type=int, default=60, help="seconds in all (default 60)")
    parser.add_argument("--corpus", type=Path, help="folder to keep the corpus in")
    parser.add_argument("--artifacts", type=Path, help="folder for crash and slow inputs")
    parser.add_argument("--slow", type=float, default=2.0,
                        help="report inputs slower than this (seconds; default 2)")
    parser.add_argument("--timeout", type=int, default=30,
                        help="an input slower than this is a crash (seconds; default 30)")
    known, rest = parser.parse_known_args()
    flags = [a for a in rest if a.startswith("-")]
    replay = [a for a in rest if not a.startswith("-")]

    work = Path(tempfile.mkdtemp(prefix=f"infrar-fuzz-{known.target}-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the user's own cache stays untouched
    artifacts = known.artifacts or work / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    corpus = known.corpus or work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = work / "seeds"
    seeds.mkdir()

    with atheris.instrument_imports(include=["infrar", *(["yaml"] if known.target != "engine"
                                                         else [])]):
        if known.target == "engine":
            check = engine_target()
            seed_data = engine_seeds()
            snippets = [s.encode() for s in PYTHON_SNIPPETS]
            wrappers = [w.encode() for w in WRAPPERS]
        else:
            check = yaml_target(work) if known.target == "yaml" else plugin_target(work)
            seed_data = yaml_seeds() if known.target == "yaml" else plugin_seeds()
            snippets = [s.encode() for s in YAML_SNIPPETS]
            wrappers = [b"x:\n", b"- \n", b"a:\n  b:\n"]
    for data in seed_data:
        (seeds / hashlib.sha1(data).hexdigest()).write_bytes(data)

    # Python's SyntaxWarnings on mutated code (`1if x`): noise between libFuzzer's lines.
    warnings.simplefilter("ignore")
    timing = Timing(known.slow, artifacts)

    def one_input(data: bytes) -> None:
        timing.run(check, data)

    libfuzzer = [sys.argv[0], f"-max_total_time={known.time}", f"-timeout={known.timeout}",
                 f"-max_len={MAX_LEN}", "-rss_limit_mb=3072", f"-artifact_prefix={artifacts}/",
                 "-print_final_stats=1", *flags]
    libfuzzer += replay or [str(corpus), str(seeds)]
    mutator = _snippet_mutator(snippets, RAW_SNIPPETS, wrappers)
    if known.target == "plugin":
        mutator = _keep_first_byte(mutator)
    print(f"fuzzing {known.target} for at most {known.time} s; corpus {corpus}, crash and slow "
          f"inputs in {artifacts}", file=sys.stderr)
    atheris.Setup(libfuzzer, one_input, custom_mutator=mutator, custom_crossover=_crossover)
    atheris.Fuzz()  # libFuzzer ends the process: -print_final_stats=1 reports the run
    return 0


if __name__ == "__main__":
    sys.exit(main())

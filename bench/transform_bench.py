#!/usr/bin/env python3
"""How fast is `infrar transform`, next to a bare libcst round trip of the same files?

Builds a corpus, deterministically and in a temporary directory, from real-world Python files
taken from this interpreter's site-packages (files that do not mention infrar), and makes about
15% of them use the SDK: an import in one of several styles under the module docstring, a
module-level call, and a function full of calls appended at the end. Then measures, best of
--repeat, in the same run:

  (a) files that use the SDK: our transform vs `libcst.parse_module(src).code` target <= 1.0x
  (b) files that do not:      our handling vs `libcst.parse_module(src)`       target >= 20x cheaper

libcst is a test/bench dependency only (the `test` extra). Timings are printed, never asserted.

    python bench/transform_bench.py                # 300 files, best of 3
    python bench/transform_bench.py --files 10 --repeat 1
"""

from __future__ import annotations

import argparse
import ast
import difflib
import gc
import random
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import libcst

from infrar.engine.config import ProjectConfig
from infrar.engine.native import PACKAGE
from infrar.engine.pipeline import deployment_targets, run_pipeline
from infrar.engine.transform import transform_source

BUCKET = "bench-bucket"

# (import statement, how operations are called); the names are unusual so that they do not
# collide with names the borrowed modules define.
STYLES: list[tuple[str, Callable[[str], str]]] = [
    ("import infrar.storage as _bench_storage", lambda op: f"_bench_storage.{op}"),
    ("from infrar import storage as _bench_st", lambda op: f"_bench_st.{op}"),
    ("import infrar.storage", lambda op: f"infrar.storage.{op}"),
    (("from infrar.storage import read as _bench_read, write as _bench_write, "
      "exists as _bench_exists, list_objects as _bench_list_objects"),
     lambda op: f"_bench_{op}"),
    ("import infrar", lambda op: f"infrar.storage.{op}"),
]


@dataclass
class CorpusFile:
    path: Path
    data: bytes
    sdk: bool

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def candidates(root: Path, seed: int) -> list[Path]:
    files = sorted(p for p in root.rglob("*.py") if p.is_file())
    random.Random(seed).shuffle(files)
    return files


def usable(data: bytes, min_lines: int, max_lines: int) -> bool:
    if b"infrar" in data or not min_lines <= data.count(b"\n") <= max_lines:
        return False
    try:
        data.decode("utf-8")
        ast.parse(data)
    except (UnicodeDecodeError, SyntaxError, ValueError):
        return False
    return True


def with_sdk(data: bytes, style: int) -> bytes:
    """The module, now using the SDK: import under the docstring, calls at module level."""
    statement, call = STYLES[style % len(STYLES)]
    text = data.decode("utf-8")
    body = ast.parse(data).body
    index = 1 if body and isinstance(body[0], ast.Expr) and isinstance(
        getattr(body[0], "value", None), ast.Constant) else 0
    while index < len(body) and isinstance(body[index], ast.ImportFrom) \
            and body[index].module == "__future__":
        index += 1
    lines = text.splitlines(keepends=True)
    at = len(lines)
    if index < len(body):
        first = body[index]
        at = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
    inserted = (f"{statement}\n"
                f"_BENCH_SETTINGS = {call('read')}({BUCKET!r}, 'settings/' + __name__)\n")
    appended = (
        "\n\n"
        f"def _bench_sync(key, payload):\n"
        f"    if not {call('exists')}({BUCKET!r}, key):\n"
        f"        {call('write')}({BUCKET!r}, key, payload)\n"
        f"    data = {call('read')}(\n"
        f"        {BUCKET!r},\n"
        f"        f'{{key}}.json',\n"
        f"    )\n"
        f"    others = [k for k in {call('list_objects')}({BUCKET!r}, prefix=key[:3])"
        f" if k != key]\n"
        f"    return data, others\n"
    )
    ending = "" if not lines or lines[-1].endswith(("\n", "\r")) else "\n"
    return "".join([*lines[:at], inserted, *lines[at:], ending, appended]).encode("utf-8")


def build_corpus(directory: Path, files: int, sdk_share: float, seed: int, min_lines: int,
                 max_lines: int) -> list[CorpusFile]:
    root = Path(sysconfig.get_paths()["purelib"])
    sdk_count = max(1, round(files * sdk_share))
    sdk_slots = set(random.Random(seed).sample(range(files), sdk_count))
    corpus: list[CorpusFile] = []
    for source in candidates(root, seed):
        if len(corpus) == files:
            break
        data = source.read_bytes()
        if not usable(data, min_lines, max_lines):
            continue
        sdk = len(corpus) in sdk_slots
        if sdk:
            data = with_sdk(data, len(corpus))
            if not transform_source(data, path=str(source)).changed:
                continue  # a name in this module collides with the style; take another file
        name = f"{len(corpus):04d}_{source.parent.name}_{source.name}"
        path = directory / name
        path.write_bytes(data)
        corpus.append(CorpusFile(path, path.read_bytes(), sdk))
    if len(corpus) < files:
        raise SystemExit(f"only {len(corpus)} usable files under {root}")
    return corpus


def best_of(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sdk-share", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-lines", type=int, default=200)
    parser.add_argument("--max-lines", type=int, default=1500)
    parser.add_argument("--provider", default="local")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="infrar-bench-") as temporary:
        corpus = build_corpus(Path(temporary), args.files, args.sdk_share, args.seed,
                              args.min_lines, args.max_lines)
        sdk = [f for f in corpus if f.sdk]
        plain = [f for f in corpus if not f.sdk]
        sdk_texts = [f.text for f in sdk]
        plain_texts = [f.text for f in plain]

        def ours(files: list[CorpusFile]) -> Callable[[], None]:
            def run() -> None:
                for f in files:
                    transform_source(f.data, path=str(f.path))
            return run

        def libcst_round_trip() -> None:
            for text in sdk_texts:
                _ = libcst.parse_module(text).code

        def libcst_parse() -> None:
            for text in plain_texts:
                libcst.parse_module(text)

        # Warm-up, and a check that the bench measures what it claims.
        for f in corpus:
            result = transform_source(f.data, path=str(f.path))
            assert result.ok, result.diagnostics
            assert result.changed == f.sdk, f.path
        libcst.parse_module(sdk_texts[0])

        ours_sdk = best_of(args.repeat, ours(sdk))
        cst_sdk = best_of(args.repeat, libcst_round_trip)
        ours_plain = best_of(args.repeat, ours(plain))
        cst_plain = best_of(args.repeat, libcst_parse) if plain else 0.0
        config = ProjectConfig()
        targets = deployment_targets(config, provider=args.provider)
        pipeline = run_pipeline([Path(temporary)], config=config, targets=targets)
        assert pipeline.ok, pipeline.errors
        whole = best_of(args.repeat, lambda: run_pipeline([Path(temporary)], config=config,
                                                          targets=targets))
        build = pipeline.builds[args.provider]
        added = [_added_lines(f.data, build.files[f.path.name]) for f in sdk]
        native = {p: d.count(b"\n") for p, d in build.files.items() if p.startswith(PACKAGE)}

    lines = sum(f.data.count(b"\n") for f in corpus)
    megabytes = sum(len(f.data) for f in corpus) / 1e6
    ratio_a = ours_sdk / cst_sdk
    ratio_b = cst_plain / ours_plain if ours_plain else float("inf")
    print(f"corpus: {len(corpus)} files ({len(sdk)} use the SDK), {lines:,} lines, "
          f"{megabytes:.1f} MB from site-packages; seed {args.seed}, best of {args.repeat}")
    print(f"(a) {len(sdk)} SDK files:      infrar transform {ours_sdk * 1e3:10.2f} ms   "
          f"libcst round trip {cst_sdk * 1e3:10.2f} ms   "
          f"ratio {ratio_a:.3f}x (target <= 1.0x) {'met' if ratio_a <= 1.0 else 'MISSED'}")
    print(f"(b) {len(plain)} files without infrar: infrar {ours_plain * 1e3:10.3f} ms   "
          f"libcst parse {cst_plain * 1e3:10.2f} ms   "
          f"{ratio_b:,.0f}x cheaper (target >= 20x) {'met' if ratio_b >= 20 else 'MISSED'}")
    print(f"whole corpus through the pipeline (read, detect, transform, inventory, native "
          f"package): {whole * 1e3:.1f} ms")
    print(f"output size: {sum(added) / len(added):.1f} lines changed per SDK file "
          f"(max {max(added)}); native package {sum(native.values())} lines "
          f"({', '.join(f'{p}: {n}' for p, n in sorted(native.items()))})")


def _added_lines(before: bytes, after: bytes) -> int:
    diff = difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(),
                                lineterm="", n=0)
    return sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))


if __name__ == "__main__":
    main()

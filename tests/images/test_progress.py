"""Progress as a person sees it: plain lines, in order, when the output is not a terminal (a
deploy with real Terraform); a live table of the steps on a pseudo-terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from infrar.cli.progress import PlainProgress, progress_to
from infrar.engine.buildah import Buildah
from infrar.engine.deploy import Deployment, deploy
from infrar.engine.infra.runs import PLAN_FILE
from infrar.engine.pipeline import Build
from infrar.engine.terraform import apply, init, offline_environment, plan

MAIN_TF = """\
variable "api_image" {
  type    = string
  default = ""
}

output "services_image_repositories" {
  value = {}
}
"""


def test_without_a_terminal_each_step_prints_plain_lines_in_order(tmp_path: Path) -> None:
    env = offline_environment(tmp_path / "tf-cache")
    workdir = tmp_path / "terraform"
    workdir.mkdir()
    (workdir / "main.tf").write_text(MAIN_TF)
    init(workdir, env=env)
    plan(workdir, plan_file=workdir / PLAN_FILE, env=env)
    deployment = Deployment(
        workdir=workdir, env=env, build=Build("aws", ("dev",), {}, ()), services={},
        environment="dev", buildah=Buildah(Path("buildah")), login=lambda host: None,
        base_image="unused", images_dir=tmp_path / "images")
    out = io.StringIO()
    with progress_to(out) as progress:
        assert isinstance(progress, PlainProgress)
        deploy(deployment, progress=progress, apply_reviewed=lambda on_line: apply(
            workdir, plan_file=workdir / PLAN_FILE, env=env, on_output=on_line).output)
    lines = out.getvalue().splitlines()
    starts = [line for line in lines if line.startswith("==> ")]
    ends = [line.split(" (")[0] for line in lines if line.startswith("ok ")]
    assert starts == ["==> apply infrastructure", "==> apply images"]
    assert ends == ["ok     apply infrastructure", "ok     apply images"]
    first_end = lines.index(next(line for line in lines if line.startswith("ok ")))
    assert any(line.startswith("    apply infrastructure | Apply complete")
               for line in lines[:first_end])
    assert lines.index("==> apply images") > first_end


LIVE = """\
import sys, time
from infrar.cli.progress import RichProgress, progress_to
with progress_to(sys.stderr) as progress:
    assert isinstance(progress, RichProgress), type(progress)
    progress.start("build api")
    progress.line("build api", "STEP 1/12: FROM base")
    time.sleep(0.6)
    progress.finish("build api", ok=True, seconds=0.6)
    progress.start("push api")
    progress.finish("push api", ok=False, seconds=0.1, detail="denied")
"""


def test_on_a_terminal_a_live_table_shows_each_step() -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "30", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-c", LIVE], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    shown = _read_all(leader, process)
    assert process.wait(timeout=30) == 0, shown
    assert "build api" in shown and "push api" in shown
    assert "✓" in shown and "✗" in shown and "denied" in shown
    assert "\x1b[" in shown  # drawn with terminal controls, not plain lines
    assert "==> " not in shown


def _read_all(fd: int, process: subprocess.Popen[bytes]) -> str:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # the follower side closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")

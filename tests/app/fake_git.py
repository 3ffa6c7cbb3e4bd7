"""Real git repositories for the GitHub fake: bare repositories served over smart HTTP by
`git http-backend`, and a driver that commits to them the way a developer would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: bytes | None = None
        ) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                          env={**os.environ, **GIT_ENV, **(env or {})}, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode(errors="replace")


class GitRepos:
    """Bare repositories under `root/repos/<owner>/<name>.git`, and a developer clone of each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos = root / "repos"
        self.dev = root / "dev"

    def bare(self, full_name: str) -> Path:
        return self.repos / f"{full_name}.git"

    def create(self, full_name: str, files: dict[str, str]) -> str:
        bare = self.bare(full_name)
        bare.mkdir(parents=True)
        git("init", "--bare", "-q", "-b", "main", ".", cwd=bare)
        for key, value in (("http.receivepack", "true"), ("uploadpack.allowAnySHA1InWant", "true"),
                           ("uploadpack.allowReachableSHA1InWant", "true")):
            git("config", key, value, cwd=bare)
        clone = self.dev / full_name
        clone.mkdir(parents=True)
        git("init", "-q", "-b", "main", ".", cwd=clone)
        git("remote", "add", "origin", str(bare), cwd=clone)
        return self.commit(full_name, "main", files, message="initial commit", new_branch=False)

    def commit(self, full_name: str, branch: str, files: dict[str, str | None], *,
               message: str = "change", base: str = "main", new_branch: bool = True,
               links: dict[str, str] | None = None) -> str:
        """Commit `files` (None deletes) and symlinks `links` (path -> target) on `branch`
        (made from `base` when new); push; SHA."""
        clone = self.dev / full_name
        exists = bool(git("ls-remote", "--heads", "origin", branch, cwd=clone).strip())
        if exists:
            git("fetch", "-q", "origin", branch, cwd=clone)
            git("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=clone)
        elif new_branch:
            git("fetch", "-q", "origin", base, cwd=clone)
            git("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=clone)
        else:
            git("checkout", "-q", "-B", branch, cwd=clone)
        for name, text in files.items():
            path = clone / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for name, target in (links or {}).items():
            path = clone / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target)
        git("add", "--all", cwd=clone)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=clone)
        git("push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
        return self.rev(full_name, f"refs/heads/{branch}")

    def rev(self, full_name: str, ref: str) -> str:
        return git("rev-parse", ref, cwd=self.bare(full_name)).strip()

    def ref_exists(self, full_name: str, ref: str) -> bool:
        try:
            self.rev(full_name, ref)
        except RuntimeError:
            return False
        return True

    def set_ref(self, full_name: str, ref: str, sha: str) -> None:
        git("update-ref", ref, sha, cwd=self.bare(full_name))

    def delete_ref(self, full_name: str, ref: str) -> None:
        git("update-ref", "-d", ref, cwd=self.bare(full_name))

    def merge(self, full_name: str, head_sha: str, base: str = "main") -> str:
        clone = self.dev / full_name
        git("fetch", "-q", "origin", head_sha, cwd=clone)
        git("fetch", "-q", "origin", base, cwd=clone)
        git("checkout", "-q", "-B", base, "FETCH_HEAD", cwd=clone)
        git("merge", "-q", "--no-ff", "-m", "Merge pull request", head_sha, cwd=clone)
        git("push", "-q", "origin", f"HEAD:refs/heads/{base}", cwd=clone)
        return self.rev(full_name, f"refs/heads/{base}")

    def diff_files(self, full_name: str, base: str, head: str) -> list[dict[str, object]]:
        """The pull request's files as GitHub lists them: name, status and patch (hunks only)."""
        bare = self.bare(full_name)
        merge_base = git("merge-base", base, head, cwd=bare).strip()
        names = git("diff", "--name-status", "--no-renames", merge_base, head, cwd=bare)
        out = []
        for line in names.splitlines():
            status, name = line.split("\t", 1)
            patch = git("diff", "--no-renames", merge_base, head, "--", name, cwd=bare)
            hunks = patch[patch.index("@@"):] if "@@" in patch else ""
            out.append({"filename": name, "patch": hunks.rstrip("\n"),
                        "status": {"A": "added", "D": "removed"}.get(status[0], "modified")})
        return out

    def show(self, full_name: str, ref: str, path: str) -> str:
        return git("show", f"{ref}:{path}", cwd=self.bare(full_name))

    def files(self, full_name: str, ref: str, under: str = "") -> list[str]:
        args = ["ls-tree", "-r", "--name-only", ref] + (["--", under] if under else [])
        return git(*args, cwd=self.bare(full_name)).splitlines()

    def has_file(self, full_name: str, ref: str, path: str) -> bool:
        return self.ref_exists(full_name, f"{ref}:{path}")

    def message(self, full_name: str, ref: str) -> str:
        return git("log", "-1", "--format=%B", ref, cwd=self.bare(full_name))

    def parent(self, full_name: str, ref: str) -> str:
        return git("rev-parse", f"{ref}^", cwd=self.bare(full_name)).strip()

    def behind_by(self, full_name: str, base: str, head: str) -> tuple[int, int]:
        counts = git("rev-list", "--left-right", "--count", f"{base}...{head}",
                     cwd=self.bare(full_name)).split()
        return int(counts[0]), int(counts[1])

    def http_backend(self, *, method: str, path_info: str, query: str, content_type: str,
                     body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        env = {
            "GIT_PROJECT_ROOT": str(self.repos), "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path_info, "REQUEST_METHOD": method, "QUERY_STRING": query,
            "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token", "REMOTE_ADDR": "127.0.0.1",
            "PATH": os.environ.get("PATH", ""),
        }
        if headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = headers["Content-Encoding"]
        if headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = headers["Git-Protocol"]
        backend = shutil.which("git-http-backend") or _git_exec_path() + "/git-http-backend"
        proc = subprocess.run([backend], input=body, capture_output=True, env=env, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status, out_headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                out_headers[name] = value.strip()
        return status, out_headers, payload


def _git_exec_path() -> str:
    return subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                          check=True).stdout.strip()

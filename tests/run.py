"""Run the whole test suite on real PostgreSQL and Redis whenever they can be had.

- TEST_DATABASE_URL / REDIS_URL set: use those servers.
- Otherwise start throwaway local servers from the PostgreSQL and Redis binaries on this
  machine, on free ports in a temporary folder, and stop them afterwards.
- Only when the binaries are missing: SQLite and fakeredis, said in a clear line.

Usage: python tests/run.py [pytest arguments]
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bin() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; use the postgres system account then.
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def throwaway_postgres(bin_dir: Path) -> Iterator[str]:
    workdir = Path(tempfile.mkdtemp(prefix="saas-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data, port = workdir / "data", free_port()
    subprocess.run(
        _as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=trust", "--no-sync", "-E", "UTF8"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -h 127.0.0.1 -k {workdir} -F -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                           "-l", str(workdir / "log"), "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                               "stop"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def throwaway_redis(binary: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(argv: list[str]) -> int:
    env = os.environ.copy()
    with ExitStack() as stack:
        if not env.get("TEST_DATABASE_URL"):
            bin_dir = find_postgres_bin()
            if bin_dir:
                env["TEST_DATABASE_URL"] = stack.enter_context(throwaway_postgres(bin_dir))
                print(f"tests: throwaway PostgreSQL from {bin_dir}", flush=True)
            else:
                print("tests: NO PostgreSQL binaries found: falling back to SQLite "
                      "(row-level security tests are skipped)", flush=True)
        else:
            print("tests: PostgreSQL from TEST_DATABASE_URL", flush=True)
        if not env.get("REDIS_URL"):
            binary = shutil.which("redis-server")
            if binary:
                env["REDIS_URL"] = stack.enter_context(throwaway_redis(binary))
                print("tests: throwaway Redis", flush=True)
            else:
                print("tests: NO redis-server found: falling back to fakeredis", flush=True)
        else:
            print("tests: Redis from REDIS_URL", flush=True)
        command = [sys.executable, "-m", "pytest", *argv]
        return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A throwaway PostgreSQL cluster for the tests.

The cluster lives in a fresh temporary directory (data, unix socket, log), listens on
127.0.0.1 on a free port with trust authentication, and is tuned for tests (no fsync, no
synchronous commit, no full-page writes: a crash loses it, which does not matter), unless
given other settings (the benchmarks use ``DURABLE_SETTINGS``, PostgreSQL's durable defaults).
It is stopped and removed by ``stop()``, or at interpreter exit.

The binaries: ``pg_ctl`` on PATH, else the newest ``/usr/lib/postgresql/*/bin``. initdb and
the server refuse to run as root: as root they run as the ``postgres`` system user
(``runuser``, else ``setpriv``), in a directory that user owns.

Use::

    cluster = shared()             # one cluster for the whole test run
    cluster.create_database("t1")
    dsn = cluster.dsn("t1")        # postgresql://postgres@127.0.0.1:PORT/t1

or ``python -m tests.postgres`` for a cluster to try things by hand (Ctrl-C stops it).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SUPERUSER = "postgres"
SYSTEM_USER = "postgres"  # who runs the server when we are root
_TOOLS = ("initdb", "pg_ctl", "psql")
_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "listen_addresses": "'127.0.0.1'",
}
# PostgreSQL's defaults, as durable as SQLite with synchronous=FULL (fsync, synchronous_commit
# and full_page_writes on): for measurements. Only the address is set.
DURABLE_SETTINGS = {"listen_addresses": "'127.0.0.1'"}


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.name))


def find_bindir() -> Path | None:
    """The directory of the PostgreSQL server binaries, or None.

    Returns:
        Where ``initdb``, ``pg_ctl`` and ``psql`` are: ``pg_ctl``'s (on PATH, symlinks
        resolved), else the newest ``/usr/lib/postgresql/*/bin``.
    """
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates.extend(Path(path) for path in versions)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in _TOOLS):
            return bindir
    return None


def _as_system_user() -> list[str] | None:
    """The command prefix that runs a program as ``postgres`` (we are root), or None."""
    if shutil.which("runuser"):
        return ["runuser", "-u", SYSTEM_USER, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}",
                "--init-groups", "--"]
    return None


def available() -> str | None:
    """Why no cluster can be started here, or None when one can.

    Returns:
        A reason to skip the PostgreSQL tests, or None.
    """
    if find_bindir() is None:
        return ("no PostgreSQL binaries (pg_ctl on PATH or /usr/lib/postgresql/*/bin); "
                "`make test` installs Debian's postgresql package")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"running as root and there is no {SYSTEM_USER!r} user to run PostgreSQL"
        if _as_system_user() is None:
            return "running as root and neither runuser nor setpriv is there"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary directory.

    Args:
        bindir: The binaries' directory (default: ``find_bindir()``).
        settings: Server settings instead of the tests' fast, crash-unsafe ones (``port`` and
            ``unix_socket_directories`` are always set here); e.g. ``DURABLE_SETTINGS``.
    """

    def __init__(self, bindir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.settings = dict(_SETTINGS if settings is None else settings)
        self.port: int | None = None
        self.root: Path | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether ``start()`` has run and ``stop()`` has not."""
        return self.root is not None

    @property
    def socket_dir(self) -> Path:
        """The directory of the server's unix socket (``host=`` for libpq)."""
        assert self.root is not None, "the cluster is not started"
        return self.root

    def _run(self, *args: str, as_owner: bool = True,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        command = [str(self.bindir / args[0]), *args[1:]]
        if as_owner and os.geteuid() == 0:
            prefix = _as_system_user()
            assert prefix is not None, available()
            command = prefix + command
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=self.root, stdin=subprocess.DEVNULL, check=False)
        if done.returncode:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                + (f"\nserver log:\n{log}" if log else "")
            )
        return done

    def start(self) -> None:
        """Create the cluster and start the server; it is stopped at exit at the latest.

        Raises:
            RuntimeError: No binaries, or initdb or the server failed (with their output).
        """
        with self._lock:
            if self.running:
                return
            reason = available() if self.bindir is None else None
            if reason:
                raise RuntimeError(reason)
            self.root = Path(tempfile.mkdtemp(prefix="ishc-pg-"))
            atexit.register(self.stop)
            try:
                self._start()
            except BaseException:
                self._stop()
                raise

    def _start(self) -> None:
        assert self.root is not None
        if os.geteuid() == 0:
            shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        for attempt in range(5):
            self.port = _free_port()
            settings = dict(self.settings, port=str(self.port),
                            unix_socket_directories=f"'{self.root}'")
            with open(data / "postgresql.auto.conf", "w", encoding="utf-8") as conf:
                conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
            try:
                self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"),
                          "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 4:
                    raise
                # The port was taken between choosing it and binding it: another one.
                with contextlib.suppress(RuntimeError):
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop the server and remove its directory (nothing if it is not running)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self.root is None:
            return
        root, data = self.root, self.root / "data"
        try:
            if (data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop",
                          timeout=60)
        finally:
            self.root = None
            self.port = None
            shutil.rmtree(root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        """The connection string of a database of this cluster.

        Args:
            dbname: The database.

        Returns:
            ``postgresql://postgres@127.0.0.1:PORT/dbname``.
        """
        assert self.port is not None, "the cluster is not started"
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with psql (stopping at the first error).

        Args:
            sql: The statements.
            dbname: The database.

        Returns:
            What psql printed (unaligned, tuples only).
        """
        assert self.port is not None, "the cluster is not started"
        done = self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                         "-d", dbname, "-c", sql, as_owner=False)
        return done.stdout

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database, empty or as a copy of ``template``.

        Args:
            name: The new database.
            template: A database to copy (nobody may be connected to it).

        Returns:
            The new database's DSN.
        """
        sql = f"CREATE DATABASE {_identifier(name)}"
        if template:
            sql += f" TEMPLATE {_identifier(template)}"
        self.psql(sql)
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing its connections (nothing if it does not exist).

        Args:
            name: The database.
        """
        self.psql(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: PostgresCluster | None = None
_shared_lock = threading.Lock()


def shared() -> PostgresCluster:
    """The test run's cluster, started on first use and stopped at exit.

    Returns:
        The running cluster.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = PostgresCluster()
            _shared.start()
        return _shared


def main() -> None:
    """Start a cluster, print its DSN and wait; Ctrl-C (or SIGTERM) stops it."""
    reason = available()
    if reason:
        sys.exit(reason)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    with PostgresCluster() as cluster:
        print(cluster.dsn(), flush=True)
        print(f"socket directory: {cluster.socket_dir}; Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()

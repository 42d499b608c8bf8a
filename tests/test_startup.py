"""Start-up at the wire: `python app.py` on a store it cannot use exits with one line (the
path, the cause, the fix) and no traceback; the signing key is written atomically.

CI runs as root, which writes through file modes: an unusable directory is made with a path
under a regular file, `chattr +i` (immutable, even for root) or a full tmpfs; the last two
are skipped where the machine does not allow them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot.auth.keys import KEY_BYTES, KeyFileError, load_or_create_key
from tests.replicas import free_port
from tests.support.disk import fill, tiny_disk

REPO = Path(__file__).resolve().parents[1]
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def start_bot(cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """`python app.py` in `cwd` (no .env there) with only `env` and PATH."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), "PORT": str(free_port()), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def refused_start(cwd: Path, env: Mapping[str, str]) -> str:
    """Run the bot, expect it to refuse to start; return its one line of stderr."""
    bot = start_bot(cwd, env)
    try:
        _out, err = bot.communicate(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert bot.returncode == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("MeetBot cannot start: "), err
    return lines[0]


def make_database(path: Path, rows: int = 3000) -> None:
    """A real SQLite store file of several hundred pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute(
            "CREATE TABLE store_items (key TEXT PRIMARY KEY NOT NULL, etag TEXT NOT NULL, "
            "value TEXT NOT NULL)"
        )
        connection.executemany(
            "INSERT INTO store_items VALUES (?, 'e', ?)",
            ((f"meetbot/key-{n}", "x" * 300) for n in range(rows)),
        )
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`chattr +i`: not even root can write in (or to) `path`; skip where that is refused."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is refused here: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


# --- the store: python app.py refuses to start with one line ---------------------------


@pytest.mark.slow
def test_a_store_under_a_regular_file_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a directory")
    line = refused_start(tmp_path, {"SQLITE_PATH": "state/meetbot.sqlite3"})
    assert "'state/meetbot.key'" in line  # the key beside the store is written first
    assert "a part of the path is a file, not a directory" in line
    assert "SQLITE_PATH" in line


@pytest.mark.slow
def test_a_read_only_directory_is_refused_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    load_or_create_key(state / "meetbot.key")  # the key is there: the store is checked
    with immutable(state):
        line = refused_start(tmp_path, {"SQLITE_PATH": "state/meetbot.sqlite3"})
    assert line == (
        "MeetBot cannot start: SQLite store 'state/meetbot.sqlite3': cannot write in its "
        "directory 'state' (permission denied); make the directory writable for this user, "
        "or set SQLITE_PATH to a file on another disk"
    )


@pytest.mark.slow
def test_a_read_only_database_file_is_refused_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "state" / "meetbot.sqlite3"
    make_database(database, rows=10)
    with immutable(database):
        line = refused_start(tmp_path, {"SQLITE_PATH": str(database)})
    assert f"SQLite store '{database}': cannot open the file for writing" in line
    assert "permission denied" in line


@pytest.mark.slow
def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "state" / "meetbot.sqlite3"
    database.parent.mkdir()
    database.write_text("meeting notes, not a database\n" * 100)
    line = refused_start(tmp_path, {"SQLITE_PATH": str(database)})
    assert line == (
        f"MeetBot cannot start: SQLite store '{database}': the file is not a SQLite database; "
        "set SQLITE_PATH to another file name, or move this file aside if it is not needed"
    )
    assert database.read_text().startswith("meeting notes")  # left as it was


@pytest.mark.slow
def test_a_damaged_database_is_refused_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "state" / "meetbot.sqlite3"
    make_database(database)
    size = database.stat().st_size
    assert size > 100 * 4096
    with database.open("r+b") as handle:  # garbage over pages in the middle of the b-tree
        handle.seek(size // 2)
        handle.write(b"\xff" * 3 * 4096)
    line = refused_start(tmp_path, {"SQLITE_PATH": str(database)})
    assert f"SQLite store '{database}': the database is damaged (quick_check: " in line
    assert "restore it from a backup, or move it aside with its -wal and -shm files" in line


@pytest.mark.slow
def test_a_full_disk_is_refused_with_one_line_and_leaves_no_key(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        fill(disk)
        line = refused_start(tmp_path, {"SQLITE_PATH": str(disk / "meetbot.sqlite3")})
        assert f"signing key '{disk / 'meetbot.key'}'" in line
        assert "the disk is full" in line
        # Nothing half-written is left to block the next start.
        assert sorted(p.name for p in disk.iterdir() if "filler" not in p.name) == []


@pytest.mark.slow
def test_a_full_disk_under_the_store_is_refused_with_one_line(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        load_or_create_key(disk / "meetbot.key")
        fill(disk)
        line = refused_start(tmp_path, {"SQLITE_PATH": str(disk / "meetbot.sqlite3")})
    assert line == (
        f"MeetBot cannot start: SQLite store '{disk / 'meetbot.sqlite3'}': cannot write in "
        f"its directory '{disk}' (the disk is full); free space on that disk, or set "
        "SQLITE_PATH to a file on another disk"
    )


@pytest.mark.slow
def test_an_unreachable_blob_container_is_refused_with_one_line(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;"
    )
    line = refused_start(
        tmp_path,
        {
            "STORAGE": "blob",
            "AZURE_STORAGE_CONNECTION_STRING": connection,
            "AZURE_STORAGE_CONTAINER": "meetbot-down",
        },
    )
    assert line.startswith(
        "MeetBot cannot start: Azure Blob Storage (account 'devstoreaccount1', container "
        "'meetbot-down') cannot use the container: "
    )
    assert "check that the storage account is reachable from here" in line
    assert AZURITE_KEY not in line


@pytest.mark.slow
def test_an_empty_key_left_by_an_older_crashed_start_does_not_block_start(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    key = state / "meetbot.key"
    key.write_bytes(b"")
    an_hour_ago = time.time() - 3600
    os.utime(key, (an_hour_ago, an_hour_ago))
    port = free_port()
    bot = start_bot(tmp_path, {"SQLITE_PATH": "state/meetbot.sqlite3", "PORT": str(port)})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert bot.poll() is None, bot.communicate()[1]
            health = f"http://127.0.0.1:{port}/healthz"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=1) as r:
                if r.status == 200:
                    break
            assert time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.1)
        assert len(key.read_bytes()) == KEY_BYTES
    finally:
        bot.terminate()
        _out, err = bot.communicate(timeout=30)
    assert "replacing the signing key" in err


# --- the signing key -----------------------------------------------------------------

_CHILD = """
import sys, time
from pathlib import Path
from bot.auth.keys import load_or_create_key
start = float(sys.argv[2])
while time.time() < start:
    pass
print(load_or_create_key(Path(sys.argv[1])).hex())
"""


def _racing_children(path: Path, count: int) -> list[str]:
    start = time.time() + 1.5  # every child has imported by then, then all go at once
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    keys = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        keys.append(out.strip())
    return keys


@pytest.mark.slow
def test_processes_starting_together_create_one_key(tmp_path: Path) -> None:
    path = tmp_path / "state" / "meetbot.key"
    keys = _racing_children(path, 8)
    assert len(set(keys)) == 1
    assert path.read_bytes().hex() == keys[0]
    assert [p.name for p in path.parent.iterdir()] == ["meetbot.key"]  # no temporary left


@pytest.mark.slow
def test_processes_replace_an_abandoned_short_key_once(tmp_path: Path) -> None:
    path = tmp_path / "meetbot.key"
    path.write_bytes(b"0123456789")
    long_ago = time.time() - 60
    os.utime(path, (long_ago, long_ago))
    keys = _racing_children(path, 6)
    assert len(set(keys)) == 1
    assert path.read_bytes().hex() == keys[0]
    assert len(path.read_bytes()) == KEY_BYTES


@pytest.mark.slow
def test_a_write_cut_short_leaves_no_key(tmp_path: Path) -> None:
    """A process whose write stops after 10 bytes (RLIMIT_FSIZE: the kernel refuses the
    rest, as a crash or a full disk would cut it) leaves no key file at all."""
    path = tmp_path / "meetbot.key"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, sys\n"
            "from pathlib import Path\n"
            "from bot.auth.keys import load_or_create_key\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))\n"
            "load_or_create_key(Path(sys.argv[1]))\n",
            str(path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode != 0
    assert "KeyFileError" in child.stderr
    assert list(tmp_path.iterdir()) == []
    assert len(load_or_create_key(path)) == KEY_BYTES


def test_an_empty_or_short_key_older_than_the_limit_is_replaced(tmp_path: Path) -> None:
    for left in (b"", b"short"):
        path = tmp_path / "meetbot.key"
        path.write_bytes(left)
        old = time.time() - 10
        os.utime(path, (old, old))
        key = load_or_create_key(path, abandoned_after=5)
        assert len(key) == KEY_BYTES
        assert path.read_bytes() == key
        assert load_or_create_key(path) == key  # and kept from then on
        path.unlink()


def test_a_short_key_being_written_now_is_waited_for(tmp_path: Path) -> None:
    """An older version writing the key right now: its whole key is used, not replaced."""
    path = tmp_path / "meetbot.key"
    whole = os.urandom(KEY_BYTES)
    path.write_bytes(b"")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\ntime.sleep(0.5)\n"
            "open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))\n",
            str(path),
            whole.hex(),
        ]
    )
    try:
        assert load_or_create_key(path, abandoned_after=30) == whole
    finally:
        writer.wait(30)


def test_an_unwritable_key_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file")
    with pytest.raises(KeyFileError) as raised:
        load_or_create_key(tmp_path / "state" / "meetbot.key")
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"signing key '{tmp_path / 'state' / 'meetbot.key'}'")

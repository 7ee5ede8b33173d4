"""Fetching into the download cache: verified by sha256, bad bytes never kept, progress."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from anyvenv.pythons.download import (
    CACHE_ENV,
    ChecksumMismatch,
    DownloadFailed,
    download_cache_dir,
    fetch_verified,
)

PAYLOAD = b"archive bytes " * 200_000  # 2.8 MB: several chunks
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "mirror" / "archive.tar.gz"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_fetch_from_file_url_verifies_and_caches(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    seen: list[tuple[int, int | None]] = []
    cached = fetch_verified(
        source.as_uri(), SHA, "archive.tar.gz", cache, lambda d, t: seen.append((d, t))
    )
    assert cached == cache / "archive.tar.gz"
    assert cached.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert len(seen) >= 3, "progress is reported per chunk"
    assert [p.name for p in cache.iterdir()] == ["archive.tar.gz"], "no partial file is left"
    source.unlink()
    assert fetch_verified(source.as_uri(), SHA, "archive.tar.gz", cache) == cached, (
        "served from cache"
    )


def test_wrong_checksum_keeps_nothing(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_verified(source.as_uri(), "0" * 64, "archive.tar.gz", cache)
    assert SHA in caught.value.one_line()
    assert list(cache.iterdir()) == []


def test_damaged_cache_entry_is_fetched_again(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "archive.tar.gz").write_bytes(b"damaged")
    cached = fetch_verified(source.as_uri(), SHA, "archive.tar.gz", cache)
    assert cached.read_bytes() == PAYLOAD


def test_missing_checksum_is_refused(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatch, match="no sha256 is known"):
        fetch_verified(source.as_uri(), None, "archive.tar.gz", tmp_path / "cache")


def test_missing_file_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadFailed, match="cannot download"):
        fetch_verified((tmp_path / "absent").as_uri(), SHA, "absent", tmp_path / "cache")


class _Handler(http.server.BaseHTTPRequestHandler):
    body = PAYLOAD
    declared = len(PAYLOAD)

    def do_GET(self) -> None:
        if self.path.endswith("/missing"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(self.declared))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_fetch_over_http(server: http.server.HTTPServer, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/pbs/archive.tar.gz"
    cached = fetch_verified(url, SHA, "archive.tar.gz", tmp_path / "cache")
    assert cached.read_bytes() == PAYLOAD


def test_http_error_is_a_download_error(server: http.server.HTTPServer, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/missing"
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        fetch_verified(url, SHA, "missing", tmp_path / "cache")


def test_connection_cut_short_is_refused(
    server: http.server.HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Handler, "body", PAYLOAD[:1000])
    url = f"http://127.0.0.1:{server.server_address[1]}/pbs/archive.tar.gz"
    with pytest.raises((DownloadFailed, ChecksumMismatch)):
        fetch_verified(url, SHA, "archive.tar.gz", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download_cache_dir() == tmp_path / "xdg" / "anyvenv" / "python-downloads"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert download_cache_dir() == tmp_path / "mine" / "python-downloads"


def test_offline_names_the_offline_option_of_the_caller_alone(tmp_path: Path) -> None:
    """A command's ``--offline`` (or UV_OFFLINE) is named where the command has it; a caller
    of create() that passed its own Downloads(offline=True) is told no option."""
    from anyvenv.errors import NO_OPTIONS, OptionWords

    url = "https://downloads.invalid/archive.tar.gz"
    with pytest.raises(DownloadFailed) as command:
        fetch_verified(url, SHA, "archive.tar.gz", tmp_path / "cache", offline=True,
                       words=OptionWords.command_line("offline"))  # fmt: skip
    assert command.value.message.startswith("network access is off (--offline or UV_OFFLINE) and ")
    with pytest.raises(DownloadFailed) as function:
        fetch_verified(url, SHA, "archive.tar.gz", tmp_path / "cache", offline=True,
                       words=NO_OPTIONS)  # fmt: skip
    assert function.value.message == (
        "network access is off and archive.tar.gz is not in the download cache"
    )

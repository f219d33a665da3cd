"""files.read_regular reads a file whole, however the reads are split (the first read asks for
fstat's size plus one byte, and stops early only where a short read ends at that size)."""
import os

import pytest

from diplokb import files
from diplokb.files import FileRefused, read_regular


@pytest.mark.parametrize("size", [0, 1, 4095, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7])
def test_files_of_every_size_are_read_whole(tmp_path, size):
    data = bytes(i % 251 for i in range(size))
    (tmp_path / "f.yaml").write_bytes(data)
    assert read_regular(tmp_path / "f.yaml", tmp_path, files.MAX_TEXT_BYTES) == data


def test_short_reads_before_the_end_do_not_cut_the_file(tmp_path, monkeypatch):
    data = b"x" * 10_000
    (tmp_path / "f.yaml").write_bytes(data)
    real_read = os.read
    monkeypatch.setattr(files.os, "read", lambda fd, n: real_read(fd, min(n, 777)))
    assert read_regular(tmp_path / "f.yaml", tmp_path, files.MAX_TEXT_BYTES) == data


def test_a_file_larger_than_fstat_said_is_read_on_and_still_limited(tmp_path, monkeypatch):
    (tmp_path / "f.yaml").write_bytes(b"y" * 5000)
    real_fstat = os.fstat

    class Smaller:  # as if the file grew between fstat and the reads
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 100

    monkeypatch.setattr(files.os, "fstat", lambda fd: Smaller(real_fstat(fd)))
    assert read_regular(tmp_path / "f.yaml", tmp_path, files.MAX_TEXT_BYTES) == b"y" * 5000
    with pytest.raises(FileRefused, match="over the limit of 4,000 bytes"):
        read_regular(tmp_path / "f.yaml", tmp_path, 4000)


def test_a_symlink_inside_the_kb_is_followed_and_one_out_of_it_refused(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "real.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "outside.yaml").write_bytes(b"secret\n")
    (kb / "link.yaml").symlink_to(kb / "real.yaml")
    (kb / "out.yaml").symlink_to(tmp_path / "outside.yaml")
    assert read_regular(kb / "link.yaml", kb, 100) == b"a: 1\n"
    with pytest.raises(FileRefused, match="outside the KB folder"):
        read_regular(kb / "out.yaml", kb, 100)
    with pytest.raises(FileNotFoundError):
        read_regular(kb / "missing.yaml", kb, 100)

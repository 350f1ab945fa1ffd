"""The installed ``ci-tags`` program leaves its process without the interpreter's teardown (cli.console): what a
user sees of a run must not change by it. Its whole output reaches a pipe (more than a pipe holds at once), its exit
code is the command's, and a reader that stops early gets no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.project import write_images

PROGRAM = str(Path(sys.executable).parent / "ci-tags")


def test_the_whole_output_reaches_a_pipe_and_matches_an_in_process_run(cli, tmp_path):
    config = write_images(tmp_path, "127.0.0.1:5000/big", "debian:12", 400)
    done = subprocess.run([PROGRAM, "hash", "--json", "--config", str(config)], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 1 << 16  # more than a Linux pipe buffers: the reader had to drain it while we wrote
    in_process = cli("hash", "--json", "--config", str(config))
    assert json.loads(done.stdout) == json.loads(in_process.out)


def test_the_exit_code_and_the_error_line_are_the_commands(tmp_path):
    done = subprocess.run([PROGRAM, "hash", "--config", str(tmp_path / "missing.yml")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 2
    assert f"no ci-tags.yml at {tmp_path / 'missing.yml'}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    config = write_images(tmp_path, "127.0.0.1:5000/big", "debian:12", 400)
    done = subprocess.run(f"{PROGRAM} hash --config {config} | head -n 1", shell=True, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_help_and_version_print_whole(tmp_path):
    version = subprocess.run([PROGRAM, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("ci-tags ")
    helped = subprocess.run([PROGRAM, "plan", "--help"], capture_output=True, text=True, check=True)
    assert "--pipeline-id" in helped.stdout and helped.stdout.endswith("\n")

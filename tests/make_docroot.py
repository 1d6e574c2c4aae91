#!/usr/bin/env python3
"""Builds the integration tests' document root: the bundled resources/ plus tests/fixtures/docroot.

usage: make_docroot.py RESOURCES FIXTURES OUT STAMP
The same tree is what an external server (UVHTTPD_TEST_URL, e.g. the Windows build under wine)
must serve for the suite to pass against it.
"""
import os
import shutil
import sys


def main():
    resources, fixtures, out, stamp = sys.argv[1:5]
    if os.path.isdir(out):
        shutil.rmtree(out)
    shutil.copytree(resources, out, ignore=shutil.ignore_patterns("uploads"))
    shutil.copytree(fixtures, out, dirs_exist_ok=True)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(out + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Builds the standard test document root: the bundled resources/ plus tests/fixtures/docroot.

usage: make_docroot.py RESOURCES FIXTURES OUT [STAMP]
meson builds it for the integration tests (with a STAMP file); the curl and Postman suites and
.ci/windows.sh build their own copy through tests/lib/server.sh (uvh_make_docroot). The same
tree is what an external server (UVHTTPD_TEST_URL, e.g. the Windows build under wine) must serve
for the integration suite to pass against it.
"""
import os
import shutil
import sys


def build(resources, fixtures, out):
    """Replaces OUT with resources/ (without uploads/) overlaid with the fixtures."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    shutil.copytree(resources, out, ignore=shutil.ignore_patterns("uploads"))
    shutil.copytree(fixtures, out, dirs_exist_ok=True)


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: make_docroot.py RESOURCES FIXTURES OUT [STAMP]", file=sys.stderr)
        return 2
    resources, fixtures, out = sys.argv[1:4]
    build(resources, fixtures, out)
    if len(sys.argv) == 5:
        with open(sys.argv[4], "w", encoding="utf-8") as f:
            f.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

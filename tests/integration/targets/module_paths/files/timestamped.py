# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a command and print, as JSON, each line of its merged stdout and stderr with the second it arrived at.

    timestamped.py COMMAND [ARG...]  ->  {"rc": 0, "lines": [[0.412, "PLAY [localhost] ***"], ...]}

The integration tests use it to prove that a line was shown while a task ran, not after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


def main():
    started = time.monotonic()
    lines = []
    with subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        for line in process.stdout:
            lines.append([round(time.monotonic() - started, 3), line.rstrip("\n")])
    print(json.dumps({"rc": process.returncode, "lines": lines}))


if __name__ == "__main__":
    main()

# Copyright (c) stateful.pets contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Offline stand-in for the get-pip script that ansible-test downloads to bootstrap pip in its venvs.

ansible-test runs the cached file as __main__ with pip's install arguments. We install pip from the
interpreter's own ensurepip, then pass the arguments on to pip, minus the two that pip does not know.
"""

from __future__ import annotations

import subprocess
import sys

UNKNOWN_TO_PIP = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in UNKNOWN_TO_PIP]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()

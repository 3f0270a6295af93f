# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip.py that ansible-test downloads from a host this network cannot reach.

ansible-test runs its bootstrap script inside a fresh venv with pip-style arguments
("pip==X --no-setuptools --no-wheel"). We get pip from the interpreter's bundled ensurepip, then
let that pip install the requested version from the configured package index.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the real install must see the
# machine's pip configuration (index, CA bundle).
env = dict(os.environ)
env.pop('PIP_CONFIG_FILE', None)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args, env=env))

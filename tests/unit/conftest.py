# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.nixkit.nix` import from this working tree when pytest runs here."""

import atexit
import os
import shutil
import sys
import tempfile

# Under ansible-test the collection root is already importable and this is a no-op. Otherwise a
# temporary ansible_collections/nixkit/nix link to the checkout (outside it, so nothing that
# walks the checkout can loop) puts the working tree's code under test, not an installed copy.
if 'ansible_collections.nixkit.nix' not in sys.modules:
    _root = tempfile.mkdtemp(prefix='nixkit-unit.')
    atexit.register(shutil.rmtree, _root, True)
    os.makedirs(os.path.join(_root, 'ansible_collections', 'nixkit'))
    os.symlink(os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')),
               os.path.join(_root, 'ansible_collections', 'nixkit', 'nix'))
    sys.path.insert(0, _root)

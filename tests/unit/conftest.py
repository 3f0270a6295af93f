# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.nixkit.nix` importable when pytest runs from the checkout."""

import os
import sys

# scripts/setup.sh links the checkout as .build/collections/ansible_collections/nixkit/nix;
# under ansible-test the collection root is already on sys.path and this is a no-op.
_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.build', 'collections')
if os.path.isdir(_COLLECTIONS) and 'ansible_collections' not in sys.modules:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))

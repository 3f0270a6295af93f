# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process with given arguments and return its JSON result."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args


def run_module(main, capsys, **args):
    """The module's result, plus `rc` (its exit code) and `raw` (the exact JSON it printed)."""
    args.setdefault('_ansible_remote_tmp', '/tmp')
    args.setdefault('_ansible_keep_remote_files', False)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result['rc'] = exit_info.value.code
    result['raw'] = out
    return result

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


def use_fake_nix(monkeypatch, module, run_command):
    """Route `module`'s commands to `run_command` (a stand-in with run_command's signature), as if
    Nix were installed in /usr/bin."""
    from ansible_collections.nixkit.nix.plugins.module_utils import _nix_cmd
    monkeypatch.setattr(_nix_cmd, 'find_nix_tool', lambda ansible_module, name='nix': '/usr/bin/' + name)
    monkeypatch.setattr(module.AnsibleModule, 'run_command', run_command)

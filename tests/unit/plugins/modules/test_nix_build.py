# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nix_build module's decisions with Nix replaced by a fake store (real Nix in the nixos_deploy scenario)."""

import json
import os

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils import _build
from ansible_collections.nixkit.nix.plugins.modules import nix_build
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix

DRV = '/nix/store/q0cq9njcrc98r7a91gf1y9rimwmgp7yb-nixos-system-web1.drv'
OUT = '/nix/store/1m4dv0y5qd7xq7v8kq6l0cm1b5dvq0n1-nixos-system-web1'
DEV = '/nix/store/zpmhsiahi5swypypj9nmxka4hi1az9v1-nixos-system-web1-dev'


@pytest.fixture
def nix(monkeypatch, tmp_path):
    """A store as a set of valid paths; eval, validity and build answered from it and recorded."""
    class Fake(object):
        valid = set()
        calls = []
        outputs = {'out': OUT}
        eval_answer = None
        build_answer = None
        nix_file = tmp_path / 'systems.nix'

        @classmethod
        def kinds(cls):
            return [c['kind'] for c in cls.calls]

    Fake.nix_file.write_text('{ }')

    def run_command(self, argv, environ_update=None, data=None, **kwargs):
        tool = argv[0].rsplit('/', 1)[-1]
        args = list(argv[1:])
        if tool == 'nix-store':
            kind = 'validity'
        else:
            kind = 'eval' if 'eval' in args else 'build'
        Fake.calls.append(dict(kind=kind, argv=argv, args=args))
        if kind == 'eval':
            return Fake.eval_answer or (0, json.dumps({'drvPath': DRV, 'outputs': Fake.outputs}), '')
        if kind == 'validity':
            return 0, ''.join(p + '\n' for p in args if p.startswith('/nix/store/') and p not in Fake.valid), ''
        if Fake.build_answer:
            return Fake.build_answer
        Fake.valid |= set(Fake.outputs.values())
        return 0, '\n'.join(Fake.outputs.values()) + '\n', ''

    use_fake_nix(monkeypatch, nix_build, run_command)
    return Fake


def test_builds_when_the_output_is_missing(nix, capsys):
    result = run_module(nix_build.main, capsys, file=str(nix.nix_file), attr='web1', _ansible_check_mode=False)
    assert result['changed'] and result['built'] and result['rc'] == 0
    assert result['drv_path'] == DRV and result['out_paths'] == [OUT] and result['missing'] == [OUT]
    assert nix.kinds() == ['eval', 'validity', 'build']
    build = nix.calls[-1]['args']
    assert build[-1] == DRV + '^*' and '--no-link' in build
    evaluation = nix.calls[0]['args']
    assert evaluation[evaluation.index('--file') + 1:evaluation.index('--file') + 3] == [str(nix.nix_file), 'web1']


def test_no_build_and_no_change_when_outputs_are_valid(nix, capsys):
    nix.valid = {OUT}
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', _ansible_check_mode=False)
    assert not result['changed'] and not result['built'] and result['missing'] == []
    assert nix.kinds() == ['eval', 'validity']
    assert 'flakes' in nix.calls[0]['args']


def test_check_mode_evaluates_only(nix, capsys):
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', _ansible_check_mode=True)
    assert result['changed'] and not result['built'] and result['missing'] == [OUT]
    assert nix.kinds() == ['eval', 'validity']


def test_outputs_ordered_out_first(nix, capsys):
    nix.outputs = {'dev': DEV, 'out': OUT}
    nix.valid = {OUT}
    result = run_module(nix_build.main, capsys, expr='import ./x.nix', attr='a', _ansible_check_mode=False)
    assert result['out_paths'] == [OUT, DEV] and result['missing'] == [DEV] and result['changed']
    assert '--impure' in nix.calls[0]['args']


def test_remote_store_is_checked_and_built_there(nix, capsys):
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', store='ssh-ng://root@b1',
                        _ansible_check_mode=False)
    assert result['changed']
    validity, build = nix.calls[1]['args'], nix.calls[2]['args']
    assert validity[:2] == ['--store', 'ssh-ng://root@b1']
    assert build[build.index('--store') + 1] == 'ssh-ng://root@b1' and build[build.index('--eval-store') + 1] == 'auto'
    assert '--store' not in nix.calls[0]['args']


def test_out_link_alone_is_a_change(nix, capsys, tmp_path):
    nix.valid = {OUT}
    link = tmp_path / 'result'
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', out_link=str(link), _ansible_check_mode=False)
    assert result['changed'] and not result['built']
    assert nix.calls[-1]['args'][nix.calls[-1]['args'].index('--out-link') + 1] == str(link)
    link.symlink_to(OUT)
    nix.calls = []
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', out_link=str(link), _ansible_check_mode=False)
    assert not result['changed'] and nix.kinds() == ['eval', 'validity']


def test_out_link_directory_is_made(nix, capsys, tmp_path):
    nix.valid = {OUT}
    link = tmp_path / 'gcroots' / '.building' / 'web1'
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', out_link=str(link), _ansible_check_mode=True)
    assert result['changed'] and not link.parent.exists()   # check mode makes nothing
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', out_link=str(link), _ansible_check_mode=False)
    assert result['changed'] and link.parent.is_dir() and oct(link.parent.stat().st_mode & 0o777) == oct(0o755 & ~current_umask())
    (tmp_path / 'file').write_text('')
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', out_link=str(tmp_path / 'file' / 'x'),
                        _ansible_check_mode=False)
    assert result['failed'] and result['msg'].startswith('out_link: cannot make its directory %s: ' % (tmp_path / 'file'))


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_build_failure_names_the_derivation(nix, capsys):
    nix.build_answer = (1, '', "building...\nerror: builder for '%s' failed with exit code 3;\n       last 1 log lines:\n"
                               "       > oops\n" % DRV)
    result = run_module(nix_build.main, capsys, flake='/srv/fleet#web1', _ansible_check_mode=False)
    assert result['failed'] and result['msg'].startswith('build of %s failed: builder' % DRV)
    assert 'exit code 3' in result['msg'] and '> oops' in result['msg']


@pytest.mark.parametrize('args, stderr, says', [
    (dict(flake='/f#nope'), "error: flake 'path:/f' does not provide attribute 'packages.x86_64-linux.nope' or 'nope'",
     "flake: flake 'path:/f' does not provide attribute"),
    (dict(attr='nope'), "error: attribute 'nope' in selection path 'nope' not found",
     "attr: attribute 'nope' missing"),
    (dict(attr='a.b'), "error: attribute 'b' missing\n       at «string»:1:1:",
     "attr: attribute 'b' missing"),
    (dict(expr='(x'), "error: syntax error, unexpected end of file, expecting ')'\n       at «string»:1:3:",
     'expr: the expression'),
    (dict(flake='/f#n'), "error:\n  … while calling the 'throw' builtin\n\n  error: nixkit-not-a-derivation: int",
     'flake: /f#n evaluates to a value of type int, not a derivation'),
    (dict(attr='n'), "error: nixkit-not-a-derivation: lambda",
     "attr: %(file)s (attr 'n') evaluates to a value of type lambda"),
    (dict(attr='x'), "error: undefined variable 'pkgs'", "file: evaluation of %(file)s (attr 'x') failed: undefined variable"),
])
def test_evaluation_errors_name_the_field(nix, capsys, args, stderr, says):
    nix.eval_answer = (1, '', stderr)
    if 'flake' not in args and 'expr' not in args:
        args = dict(args, file=str(nix.nix_file))
    result = run_module(nix_build.main, capsys, _ansible_check_mode=False, **args)
    assert result['failed'] and result['msg'].startswith(says % {'file': nix.nix_file}), result['msg']
    assert nix.kinds() == ['eval']


@pytest.mark.parametrize('args, says', [
    (dict(flake='/f#a', attr='b'), 'attr cannot be used with flake'),
    (dict(flake='/f'), 'names no attribute'),
    (dict(flake='/f#a', argstr={'x': 'y'}), 'argstr cannot be used with flake'),
    (dict(file='/nonexistent/x.nix'), 'file: /nonexistent/x.nix does not exist'),
    (dict(flake='/f#a', options={'Bad Name': 1}), "options: 'Bad Name' is not a Nix setting name"),
    (dict(flake='/f#a', file='/x.nix'), 'mutually exclusive'),
    (dict(attr='a'), 'one of the following is required'),
    (dict(flake='/f#a', store='ssh-ng://b', out_link='/r'), 'mutually exclusive'),
])
def test_refusals_run_nothing(nix, capsys, args, says):
    result = run_module(nix_build.main, capsys, _ansible_check_mode=False, **args)
    assert result['failed'] and says in result['msg']
    assert nix.calls == []


def test_malformed_eval_output_is_refused(nix, capsys):
    nix.eval_answer = (0, json.dumps({'drvPath': 'not-a-path', 'outputs': {}}), '')
    result = run_module(nix_build.main, capsys, flake='/f#a', _ansible_check_mode=False)
    assert result['failed'] and 'not a store path' in result['msg']


def test_option_args():
    assert _build.option_args({'substituters': [], 'max-jobs': 4, 'sandbox': False}) == [
        '--option', 'max-jobs', '4', '--option', 'sandbox', 'false', '--option', 'substituters', '']


def test_argstr_and_attr_go_after_the_file():
    field, args, extra = _build.installable_args({'file': '/x.nix', 'attr': 'a', 'argstr': {'b': 1, 'a': 'z'}})
    assert field == 'file' and extra == []
    assert args == ['--file', '/x.nix', 'a', '--argstr', 'a', 'z', '--argstr', 'b', '1']

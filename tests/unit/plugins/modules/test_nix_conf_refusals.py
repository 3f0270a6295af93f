# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nix_conf refuses unknown setting names and store URLs Nix cannot open before writing anything.

The files are real (tmp_path); only the host's Nix is a stand-in, answering `nix config show --json`."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_cmd
from ansible_collections.nixkit.nix.plugins.modules import nix_conf
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.module_runner import run_module, use_fake_nix
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.nix_config_sample import CONFIG_SHOW_JSON

# Taken at import, before conftest.py stands in for it in every test.
REAL_QUERY = nix_conf.nix_known_settings
ORIGINAL = '# hand-written\nmax-jobs = 2\n'
NIX = ['/usr/bin/nix', '--extra-experimental-features', 'nix-command']
OLD_NIX_ERROR = "error: 'config' is not a recognised command\nTry 'nix --help' for more information.\n"


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'nix.conf'
    path.write_text(ORIGINAL)
    return path


@pytest.fixture
def nix(monkeypatch):
    """The real query, with Nix answering each call with the next (rc, stdout, stderr) of nix.answers."""
    class Fake(object):
        answers = []
        calls = []

    def run_command(self, argv, environ_update=None, **kwargs):
        Fake.calls.append(dict(argv=argv, env=dict(environ_update or {})))
        return Fake.answers.pop(0)

    monkeypatch.setattr(nix_conf, 'nix_known_settings', REAL_QUERY)
    use_fake_nix(monkeypatch, nix_conf, run_command)
    return Fake


@pytest.fixture
def no_nix(monkeypatch, tmp_path):
    """The real query on a host without Nix: no nix in any of the places Nix installs it."""
    def run_command(self, argv, **kwargs):
        raise AssertionError('nothing may run without Nix: %r' % (argv,))

    empty = tmp_path / 'no-nix-here'
    empty.mkdir()
    monkeypatch.setattr(nix_conf, 'nix_known_settings', REAL_QUERY)
    monkeypatch.setattr(_nix_cmd, 'NIX_BIN_DIRS', (str(empty),))
    monkeypatch.setattr(nix_conf.AnsibleModule, 'run_command', run_command)


WARNED = []


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    """Catch the warnings where the module gives them, as the other module tests do: where they end
    up in the printed result depends on what else the test process imported."""
    del WARNED[:]
    monkeypatch.setattr(nix_conf.AnsibleModule, 'warn', lambda self, msg, **kwargs: WARNED.append(msg))


def run(capsys, **args):
    """The module's result, with `warned`: the warnings of this run."""
    del WARNED[:]
    result = run_module(nix_conf.main, capsys, **args)
    result['warned'] = list(WARNED)
    return result


def both_modes(capsys, **args):
    """Run in check mode, then for real; the results must agree."""
    check = run(capsys, _ansible_check_mode=True, **args)
    real = run(capsys, **args)
    for key in ('failed', 'changed', 'msg', 'warned', 'settings', 'changed_settings'):
        assert check.get(key) == real.get(key), key
    return real


def test_known_names_pass_and_the_query_is_nix_config_show_in_the_c_locale(capsys, conf, nix):
    nix.answers = [(0, CONFIG_SHOW_JSON, '')] * 2
    result = both_modes(capsys, path=str(conf), settings={
        'builders': '@/etc/nix/machines', 'extra-substituters': ['https://cache.example.org'],
        'extra-trusted-public-keys': ['cache.example.org-1:abc='], 'build-max-jobs': 2})
    assert result['changed'] and result['warned'] == []
    assert 'builders = @/etc/nix/machines\n' in conf.read_text()
    assert [call['argv'] for call in nix.calls] == [NIX + ['config', 'show', '--json']] * 2
    assert all(call['env']['LC_ALL'] == 'C' for call in nix.calls)


def test_unknown_name_is_refused_and_nothing_written(capsys, conf, nix):
    nix.answers = [(0, CONFIG_SHOW_JSON, '')] * 2
    result = both_modes(capsys, path=str(conf), settings={'max-jobs': 4, 'buildersx': '@/etc/nix/machines'})
    assert result['failed'] and result['rc'] == 1
    assert result['msg'] == ("%s: setting 'buildersx' is not one the Nix on this host knows; did you mean "
                             "'builders'? If a Nix plugin (plugin-files) provides it, list it in "
                             "allow_unknown_settings" % conf)
    assert conf.read_text() == ORIGINAL


def test_a_malformed_name_is_refused_as_such(capsys, conf, nix):
    nix.answers = [(0, CONFIG_SHOW_JSON, '')]
    result = run(capsys, path=str(conf), settings={'Max Jobs': 3})
    assert result['failed'] and "setting name 'Max Jobs' is invalid" in result['msg']
    assert conf.read_text() == ORIGINAL


def test_extra_form_of_a_scalar_setting_is_refused(capsys, conf, nix):
    nix.answers = [(0, CONFIG_SHOW_JSON, '')]
    result = run(capsys, path=str(conf), settings={'extra-max-jobs': 4})
    assert result['failed'] and 'max-jobs is not a list' in result['msg']
    assert conf.read_text() == ORIGINAL


def test_old_nix_is_asked_with_show_config(capsys, conf, nix):
    nix.answers = [(1, '', OLD_NIX_ERROR), (0, CONFIG_SHOW_JSON, '')]
    result = run(capsys, path=str(conf), settings={'buildersx': 1})
    assert result['failed'] and "'buildersx'" in result['msg']
    assert [call['argv'][3:] for call in nix.calls] == [['config', 'show', '--json'], ['show-config', '--json']]
    assert all(call['env']['LC_ALL'] == 'C' for call in nix.calls)
    assert conf.read_text() == ORIGINAL


def test_allow_unknown_settings_lets_plugin_settings_through(capsys, conf, nix):
    nix.answers = [(0, CONFIG_SHOW_JSON, '')] * 2
    args = dict(path=str(conf), settings={'plugin-files': ['/usr/lib/nix/plugins/libexample.so'],
                                          'example-endpoint': 'https://plugin.example.org',
                                          'extra-example-endpoint': 'https://other.example.org'},
                allow_unknown_settings=['example-endpoint'])
    result = both_modes(capsys, **args)
    assert result['changed'] and 'example-endpoint = https://plugin.example.org\n' in conf.read_text()


def test_allow_unknown_settings_must_be_setting_names(capsys, conf, nix):
    result = run(capsys, path=str(conf), settings={'cores': 1}, allow_unknown_settings=['Bad Name'])
    assert result['failed'] and "setting name 'Bad Name' is invalid" in result['msg'] and nix.calls == []
    assert conf.read_text() == ORIGINAL


def test_without_nix_the_names_are_not_checked_and_the_result_says_so(capsys, conf, no_nix):
    result = both_modes(capsys, path=str(conf), settings={'buildersx': 1})
    assert result['changed'] and not result.get('failed')
    assert len(result['warned']) == 1
    assert result['warned'][0].startswith('setting names were not checked: Nix is not installed on this host '
                                          '(no nix in ')
    assert conf.read_text() == ORIGINAL + 'buildersx = 1\n'


def test_without_nix_values_are_still_checked(capsys, conf, no_nix):
    result = run(capsys, path=str(conf), settings={'substituters': ['cache.example.org']})
    assert result['failed'] and "'cache.example.org'" in result['msg']
    assert conf.read_text() == ORIGINAL


def test_a_nix_that_does_not_answer_is_a_warning_too(capsys, conf, nix):
    nix.answers = [(1, '', 'error: cannot open plugin\n'), (1, '', 'error: cannot open plugin\n')] * 2
    result = both_modes(capsys, path=str(conf), settings={'cores': 2})
    assert result['changed'] and result['warned'] == [
        'setting names were not checked: the Nix on this host did not list its settings (nix config show --json: '
        'error: cannot open plugin; nix show-config --json: error: cannot open plugin)']
    assert conf.read_text() == ORIGINAL + 'cores = 2\n'


def test_unreadable_answer_is_a_warning(capsys, conf, nix):
    nix.answers = [(0, 'not json', ''), (0, '', '')]
    result = run(capsys, path=str(conf), settings={'cores': 2})
    assert result['changed'] and 'did not list its settings' in result['warned'][0]


def test_removing_is_never_refused_for_an_unknown_name(capsys, conf, nix):
    conf.write_text(ORIGINAL + 'buildersx = @/etc/nix/machines\n')
    result = run(capsys, path=str(conf), state='absent', settings={'buildersx': None})
    assert result['changed'] and result['changed_settings'] == ['buildersx']
    assert conf.read_text() == ORIGINAL and nix.calls == []


def test_includes_alone_do_not_ask_nix(capsys, conf, nix):
    assert run(capsys, path=str(conf), includes=['/etc/nix/nixkit.d/client.conf'])['changed']
    assert nix.calls == []


@pytest.mark.parametrize('name', ['substituters', 'extra-substituters', 'trusted-substituters',
                                  'extra-trusted-substituters'])
def test_store_url_without_scheme_is_refused_naming_setting_value_and_fix(capsys, conf, nix, name):
    result = both_modes(capsys, path=str(conf), settings={name: ['https://cache.nixos.org', 'cache.example.org']})
    assert result['failed'] and result['rc'] == 1
    assert result['msg'].startswith(
        "%s: setting %r: 'cache.example.org' is not a store URL: it has no scheme; did you mean "
        "'https://cache.example.org'? A store URL starts with http://, https://, s3://, ssh://, ssh-ng://, "
        "file://, unix://, local://, mounted-ssh-ng://, local-overlay://, dummy://, or is auto, daemon, local or "
        "an absolute path" % (conf, name))
    assert conf.read_text() == ORIGINAL
    # Values are judged before Nix is asked.
    assert nix.calls == []


@pytest.mark.parametrize('url, fragment', [
    ('cache.example.org/nix', 'a relative path'),
    ('htps://cache.example.org', "did you mean 'https://cache.example.org'?"),
    ('ssh-ng://', 'no host'),
    ('file://cache', 'absolute path'),
])
def test_other_bad_store_urls_are_refused(capsys, conf, nix, url, fragment):
    result = run(capsys, path=str(conf), settings={'substituters': url})
    assert result['failed'] and fragment in result['msg'] and "setting 'substituters'" in result['msg']
    assert conf.read_text() == ORIGINAL


def test_good_store_urls_are_written(capsys, conf, nix):
    urls = ['https://cache.nixos.org/', 'ssh-ng://nix-ssh@cache.example.org?ssh-key=/root/.ssh/id_cache',
            's3://nix-cache?region=eu-west-1', 'file:///var/cache/nix', '/srv/nix-mirror', 'daemon', 'local']
    nix.answers = [(0, CONFIG_SHOW_JSON, '')]
    result = run(capsys, path=str(conf), settings={'substituters': urls})
    assert result['changed'] and result['settings']['substituters'] == ' '.join(urls)


def test_a_bad_url_already_in_the_file_can_be_taken_out(capsys, conf, nix):
    conf.write_text('substituters = https://cache.nixos.org cache.example.org\n')
    result = run(capsys, path=str(conf), state='absent', list_mode='merge',
                 settings={'substituters': ['cache.example.org']})
    assert result['changed'] and conf.read_text() == 'substituters = https://cache.nixos.org\n'


def test_merging_checks_only_the_given_items(capsys, conf, nix):
    conf.write_text('substituters = cache.example.org\n')
    nix.answers = [(0, CONFIG_SHOW_JSON, '')]
    result = run(capsys, path=str(conf), list_mode='merge', settings={'substituters': ['https://cache.nixos.org']})
    assert result['changed'] and conf.read_text() == 'substituters = cache.example.org https://cache.nixos.org\n'

# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""NixOS modules: rendering, the recorded options, and that they say what the plain files say."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_conf, _nix_machines
from ansible_collections.nixkit.nix.plugins.module_utils import _nixos_options as options
from ansible_collections.nixkit.nix.plugins.module_utils._nixos_module import (
    NixosModuleError, check, render, string, value)

HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJkl7r6oIKCX80GFCtRmPQa6t2ZsS4Rr8Ql2ZzF0r2vF'


def nixos_machines_line(m):
    """How nixpkgs' nix-remote-build.nix renders one nix.buildMachines entry (recorded, 2026)."""
    first = '%s%s%s' % (m['protocol'] + '://' if m['protocol'] else '', m['sshUser'] + '@' if m['sshUser'] else '',
                        m['hostName'])
    features = m['supportedFeatures'] + m['mandatoryFeatures']
    return ' '.join([first, ','.join(m['systems']) or '-', m['sshKey'] or '-', str(m['maxJobs']), str(m['speedFactor']),
                     ','.join(features) or '-', ','.join(m['mandatoryFeatures']) or '-', m['publicHostKey'] or '-'])


def nixos_conf_value(data):
    """How nixpkgs' nix.nix renders a nix.settings value into nix.conf (recorded, 2026)."""
    if isinstance(data, bool):
        return 'true' if data else 'false'
    if isinstance(data, list):
        return ' '.join(nixos_conf_value(item) for item in data)
    return str(data)


BUILDERS = [
    dict(host='builder1.lab', user='nixbuilder', systems=['x86_64-linux', 'i686-linux'], max_jobs=4, speed_factor=2,
         supported_features=['kvm'], mandatory_features=['big-parallel'], public_host_key=HOST_KEY),
    dict(host='10.0.0.7', protocol='ssh', systems=['aarch64-linux'], ssh_key='/root/.ssh/id_builder'),
]


def test_build_machines_mean_what_the_machines_file_means():
    ours = [_nix_machines.parse(line)[0] for line in _nix_machines.machines(BUILDERS)]
    nixos = [_nix_machines.parse(nixos_machines_line(m))[0] for m in _nix_machines.build_machines(BUILDERS)]
    for mine, theirs in zip(ours, nixos):
        # Nix counts a mandatory feature as supported: NixOS lists it in both columns, we in one.
        mine_supported = set((mine[5] or '').split(',')) | set((mine[6] or '').split(','))
        assert mine[:5] + mine[6:] == theirs[:5] + theirs[6:]
        assert mine_supported - {''} == set((theirs[5] or '').split(',')) - {''}
    assert len(ours) == len(nixos) == 2


def test_build_machines_are_refused_as_the_machines_file_refuses_them():
    for bad in (dict(host='b', systems=['amd64-linux']), dict(host='b', systems=['x86_64-linux'], port=2222)):
        with pytest.raises(_nix_machines.NixMachinesError):
            _nix_machines.build_machines([bad])


def test_settings_mean_in_nix_conf_what_nix_conf_says():
    settings = {'extra-trusted-public-keys': ['c1-1:AAAA', 'c2-1:BBBB'], 'max-jobs': 'auto', 'cores': 0,
                'require-sigs': True, 'extra-trusted-users': ['nixbuilder']}
    text = render({'nix.settings': settings}, 'test')
    # Scalars yield to the host's own configuration; lists merge with it.
    assert 'max-jobs = lib.mkDefault "auto";' in text and 'cores = lib.mkDefault 0;' in text
    assert 'require-sigs = lib.mkDefault true;' in text and 'extra-trusted-users = [\n' in text
    # What the nix_conf module writes for the same settings, as Nix reads it back.
    lines, _changed = _nix_conf.apply([], settings)
    plain = _nix_conf.effective(lines)
    assert plain == dict((k, nixos_conf_value(v)) for k, v in settings.items())


def test_values_and_names_are_quoted_and_never_interpolate():
    assert string('a "b" ${x} \\ \n') == '"a \\"b\\" \\${x} \\\\ \\n"'
    text = render({'programs.ssh.knownHosts.builder1.lab': {'hostNames': ['builder1.lab'], 'publicKey': HOST_KEY},
                   'users.users.nixbuilder': {'openssh.authorizedKeys.keys': ['restrict,command="x" k'], 'home': '/v'}},
                  'test')
    assert 'programs.ssh.knownHosts."builder1.lab" = {' in text
    assert 'openssh.authorizedKeys.keys = [' in text and '"restrict,command=\\"x\\" k"' in text
    assert text.startswith('# Managed by nixkit.nix: test\n') and text.endswith('}\n')
    assert value({'if': 1}, options.Freeform(options.INT)) == '{\n  "if" = 1;\n}'


def test_paths_stay_strings():
    text = render({'nix.settings': {'secret-key-files': ['/etc/nix/key.sec']}}, 'test')
    assert '"/etc/nix/key.sec"' in text


@pytest.mark.parametrize('definitions, message', [
    ({'nix.settingz': {}}, 'nix.settingz is not one the collection writes'),
    ({'nix.distributedBuilds': 'true'}, 'nix.distributedBuilds must be a boolean'),
    ({'nix.sshServe.protocol': 'ssh-ngg'}, 'must be one of "ssh", "ssh-ng"'),
    ({'users.users.x': {'homeDir': '/x'}}, 'no option "homeDir"'),
    ({'nix.settings': {'Max Jobs': 1}}, 'no such name "Max Jobs"'),
    ({'nix.buildMachines': [{'hostName': 'b', 'speedFactor': 0}]}, 'speedFactor: a positive integer'),
    ({'users.users.': {}}, 'is not one the collection writes'),
    ({}, 'non-empty mapping'),
])
def test_bad_definitions_name_the_option(definitions, message):
    with pytest.raises(NixosModuleError, match=message.replace('(', r'\(').replace('"', '"')):
        check(definitions)


def test_every_recorded_option_has_a_type():
    for name, option_type in options.OPTIONS.items():
        assert isinstance(option_type, options.Type), name

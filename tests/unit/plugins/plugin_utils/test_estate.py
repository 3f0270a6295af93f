# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The estate model over the inventory shapes users write (plugin_utils/_estate.py)."""

import pytest

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_plans as role_plans

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s'
SIG = '%s-1:' + 'A' * 43 + '='


def client(name):
    return {'client': {'ssh_public_key': KEY % name + ' nix-daemon@' + name, 'signing_public_key': SIG % name}}


def builder(name, jobs=2, systems=('x86_64-linux',), speed=1):
    return {'builder': {'host_key': 'ssh-ed25519 HOSTKEY' + name, 'user': 'nixbuilder', 'protocol': 'ssh-ng',
                        'systems': list(systems), 'supported_features': ['big-parallel'], 'mandatory_features': [],
                        'max_jobs': jobs, 'speed_factor': speed}}


def cache(name, http=True, auth=True, writers=()):
    return {'cache': {'name': name, 'public_keys': [name + '-1:' + 'C' * 43 + '='],
                      'ssh': {'url': 'ssh://nix-ssh@' + name, 'host_key': 'ssh-ed25519 HOSTKEY' + name, 'writers': list(writers)},
                      'http': {'url': 'http://%s:8080' % name, 'auth': auth} if http else None}}


def names(view):
    """The addresses a client view pins (each builder and SSH cache once)."""
    return [pin['name'] for pin in view['pins']]


def merge(*dicts):
    out = {}
    for d in dicts:
        for host, kinds in d.items():
            out.setdefault(host, {}).update(kinds)
    return out


def view(host, groups, descriptors, hostvars=None, **kw):
    return estate.client_view(host, groups, hostvars or {}, descriptors, 'nix_builders', 'nix_caches',
                              '/root/.ssh/id_ed25519', **kw)


def test_plain_farm_in_inventory_order():
    groups = {'nix_builders': ['b2', 'b1'], 'nix_clients': ['c1']}
    d = merge({'b1': builder('b1', jobs=4)}, {'b2': builder('b2', jobs=1)}, {'c1': client('c1')})
    v = view('c1', groups, d)
    assert [b['host'] for b in v['builders']] == ['b2', 'b1']
    assert [b['max_jobs'] for b in v['builders']] == [1, 4]
    assert names(v) == ['b2', 'b1'] and v['ssh_config'] == ''  # port 22, no options: nothing to add


def test_host_in_both_groups_each_entry_carries_its_own_builder():
    # Issue 9 case 2: dual is builder and client beside another builder and client.
    groups = {'nix_builders': ['dual', 'b2'], 'nix_clients': ['c1', 'dual']}
    d = merge({'dual': builder('dual', jobs=8)}, {'dual': client('dual')}, {'b2': builder('b2', jobs=3)}, {'c1': client('c1')})
    for host, expected in (('c1', [('dual', 8), ('b2', 3)]), ('dual', [('b2', 3)])):
        v = view(host, groups, d)
        assert [(b['host'], b['max_jobs']) for b in v['builders']] == expected
        assert [b['public_host_key'] for b in v['builders']] == ['ssh-ed25519 HOSTKEY' + pair[0] for pair in expected]
    bv = estate.builder_view('dual', groups, d, 'nix_clients')
    assert bv['clients'] == ['c1']  # not itself
    assert estate.builder_view('b2', groups, d, 'nix_clients')['clients'] == ['c1', 'dual']


def test_custom_port_reaches_ssh_config_and_preflight():
    groups = {'nix_builders': ['b1'], 'nix_clients': ['c1']}
    hostvars = {'b1': {'ansible_host': '10.0.0.5', 'ansible_port': '2222'}}  # INI: a string
    v = view('c1', groups, merge({'b1': builder('b1')}), hostvars)
    assert v['builders'][0]['host'] == '10.0.0.5'
    assert 'Host 10.0.0.5\n' in v['ssh_config'] and '  Port 2222\n' in v['ssh_config']
    assert '  HostKeyAlias 10.0.0.5\n' in v['ssh_config']
    assert v['reach'][0]['sshopts'] == '-p 2222 -o HostKeyAlias=10.0.0.5'
    assert v['reach'][0]['store'].startswith('ssh-ng://nixbuilder@10.0.0.5?ssh-key=%2Froot%2F.ssh%2Fid_ed25519&')


def test_port_override_and_ssh_options():
    hostvars = {'b1': {'ansible_port': 22, 'nixkit_ssh_port': 2200, 'nixkit_address': 'b1.internal',
                       'nixkit_ssh_options': {'ProxyJump': 'bastion', 'Compression': True}}}
    v = view('c1', {'nix_builders': ['b1']}, merge({'b1': builder('b1')}), hostvars)
    assert '  Port 2200\n' in v['ssh_config'] and '  ProxyJump bastion\n' in v['ssh_config']
    assert '  Compression yes\n' in v['ssh_config'] and v['builders'][0]['host'] == 'b1.internal'


@pytest.mark.parametrize('hostvars, says', [
    ({'ansible_port': 'twenty'}, 'ansible_port of b1 must be a number'),
    ({'nixkit_ssh_port': 70000}, 'nixkit_ssh_port of b1 must be between 1 and 65535'),
    ({'nixkit_ssh_options': 'ProxyJump=x'}, 'nixkit_ssh_options of b1 must be a mapping'),
    ({'nixkit_ssh_options': {'Port': 1}}, 'Port is set by the collection'),
    ({'nixkit_address': 'a b'}, 'nixkit_address (or ansible_host) of b1'),
])
def test_bad_peer_values_name_the_variable(hostvars, says):
    with pytest.raises(estate.EstateError, match=says.replace('(', r'\(').replace(')', r'\)')):
        view('c1', {'nix_builders': ['b1']}, merge({'b1': builder('b1')}), {'b1': hostvars})


def test_removed_builder_and_client_lose_access():
    before = {'nix_builders': ['b1', 'b2'], 'nix_clients': ['c1', 'c2']}
    after = {'nix_builders': ['b1'], 'nix_clients': ['c1']}
    d = merge({'b1': builder('b1')}, {'b2': builder('b2')}, {'c1': client('c1')}, {'c2': client('c2')})
    assert 'b2' in names(view('c1', before, d))
    v = view('c1', after, d)
    assert names(v) == ['b1'] and len(v['builders']) == 1
    assert estate.builder_view('b1', after, d, 'nix_clients')['ssh_keys'] == [KEY % 'c1' + ' nix-daemon@c1']


def test_custom_group_names_and_empty_or_missing_groups():
    assert estate.group_name('builders', {'nixkit_builders_group': 'farm'}) == 'farm'
    assert estate.group_name('builders', {}) == 'nix_builders'
    with pytest.raises(estate.EstateError, match='nixkit_builders_group'):
        estate.group_name('builders', {'nixkit_builders_group': ['farm']})
    v = estate.client_view('c1', {'farm': ['b1'], 'stores': []}, {}, merge({'b1': builder('b1')}), 'farm', 'stores', 'k')
    assert [b['host'] for b in v['builders']] == ['b1'] and v['caches'] == []
    v = view('c1', {}, {})
    assert v['builders'] == [] and v['ssh_config'] == '' and names(v) == []


def test_host_in_three_groups():
    groups = {'nix_builders': ['h', 'b2'], 'nix_caches': ['h'], 'nix_clients': ['h', 'c1']}
    d = merge({'h': builder('h')}, {'h': cache('h')}, {'h': client('h')}, {'b2': builder('b2')}, {'c1': client('c1')})
    hv = {'h': {'nix_cache_server_http_users': [{'name': 'c1', 'password': 'p'}]}}
    v = view('c1', groups, d, hv)
    assert [b['host'] for b in v['builders']] == ['h', 'b2']
    assert [c['transport'] for c in v['caches']] == ['ssh', 'http']
    assert names(v) == ['h', 'b2']  # the host in three groups once
    own = view('h', groups, d, hv)
    assert [b['host'] for b in own['builders']] == ['b2'] and own['caches'] == []


def test_missing_descriptors_are_named_not_guessed():
    groups = {'nix_builders': ['b1', 'b2'], 'nix_caches': ['k1'], 'nix_clients': ['c1', 'c2']}
    d = merge({'b1': builder('b1')}, {'c1': client('c1')})
    v = view('c1', groups, d)
    assert v['builders_missing'] == ['b2'] and v['caches_missing'] == ['k1']
    assert estate.builder_view('b1', groups, d, 'nix_clients')['keyless_clients'] == ['c2']


def test_cache_accounts_and_netrc():
    groups = {'nix_caches': ['k1'], 'nix_clients': ['c1']}
    d = merge({'k1': cache('k1')})
    hv = {'k1': {'nix_cache_server_http_users': [{'name': 'c1', 'password': 'secret'}]}}
    v = view('c1', groups, d, hv)
    assert 'secret' not in repr(v)
    assert v['substituters'][1] == 'http://k1:8080'
    assert v['substituters'][0].startswith('ssh://nix-ssh@k1?ssh-key=')
    assert estate.client_netrc('c1', groups, hv, d, 'nix_caches') == [
        {'host': 'k1', 'machine': 'k1', 'login': 'c1', 'password': 'secret'}]
    with pytest.raises(estate.EstateError, match='list no account named c2 in nix_cache_server_http_users'):
        view('c2', groups, d, hv)
    assert [c['transport'] for c in view('c2', groups, d, hv, transports=['ssh'])['caches']] == ['ssh']


def test_cache_view_readers_writers_and_unknown_writers():
    groups = {'nix_caches': ['k1'], 'nix_clients': ['c1', 'c2'], 'other': ['w1']}
    d = merge({'c1': client('c1')}, {'c2': client('c2')}, {'w1': client('w1')})
    v = estate.cache_view('k1', groups, d, 'nix_clients', ['c2', 'w1'])
    assert v['writer_keys'] == [KEY % 'c2' + ' nix-daemon@c2', KEY % 'w1' + ' nix-daemon@w1']
    assert v['reader_keys'] == [KEY % 'c1' + ' nix-daemon@c1']
    assert v['upload_keys'] == [SIG % 'c2', SIG % 'w1']
    with pytest.raises(estate.EstateError, match='nix_cache_server_ssh_writers .* ghost is not in it'):
        estate.cache_view('k1', groups, d, 'nix_clients', ['ghost'])


def test_extra_keys_are_checked():
    with pytest.raises(estate.EstateError, match="nix_builder_authorized_keys takes SSH public keys.*'hello world'"):
        estate.check_keys(['hello world'], 'nix_builder_authorized_keys', estate.SSH_PUBLIC_KEY_RE, 'SSH public keys')
    with pytest.raises(estate.EstateError, match='cache-1:short'):
        estate.check_keys(['cache-1:short'], 'x', estate.NIX_PUBLIC_KEY_RE, 'Nix signing keys')
    assert estate.check_keys([SIG % 'a' + ' '], 'x', estate.NIX_PUBLIC_KEY_RE, 'k') == [SIG % 'a']


def test_user_given_builders_replace_the_inventory():
    custom = [{'host': 'far.example.org', 'systems': ['aarch64-linux'], 'public_host_key': 'ssh-ed25519 FAR'}]
    v = view('c1', {'nix_builders': ['b1']}, merge({'b1': builder('b1')}), custom_builders=custom)
    assert [b['host'] for b in v['builders']] == ['far.example.org'] and names(v) == ['far.example.org']
    assert v['reach'][0]['store'].startswith('ssh-ng://far.example.org?base64-ssh-public-host-key=')


def test_incomplete_builder_descriptor_says_how_to_fix():
    d = {'b1': {'builder': {'host_key': 'k'}}}
    with pytest.raises(estate.EstateError, match='builder descriptor of b1 is incomplete.*nix_builder there again'):
        view('c1', {'nix_builders': ['b1']}, d)


def test_ini_inventory_every_value_a_string():
    groups = {'nix_builders': ['b1'], 'nix_clients': ['c1']}
    hostvars = {'b1': {'ansible_host': '192.0.2.7', 'ansible_port': '22', 'nixkit_ssh_port': ''}}
    d = {'b1': {'builder': dict(builder('b1')['builder'], max_jobs='4', speed_factor='2')}}
    v = view('c1', groups, d, hostvars)
    assert v['builders'][0]['max_jobs'] == 4 and v['builders'][0]['speed_factor'] == 2
    assert v['ssh_config'].count('Port') == 0  # 22 is the default: no Port line


def test_user_given_values_are_refused_naming_the_variable():
    with pytest.raises(estate.EstateError, match="nix_client_substituters: 'cache.example.org' is not a store URL.*https://cache.example.org"):
        estate.check_store_urls(['https://ok.example.org', 'cache.example.org'], 'nix_client_substituters')
    with pytest.raises(estate.EstateError, match="nix_client_builders: .*x86-linux.*x86_64-linux"):
        estate.check_machines([{'host': 'b', 'systems': ['x86-linux']}], 'nix_client_builders')
    assert estate.check_machines([], 'nix_client_builders') == []


@pytest.mark.parametrize('text, version', [
    ('nix (Nix) 2.26.3\n', (2, 26, 3)),
    ('nix (Nix) 2.8.0', (2, 8, 0)),
    ('nix (Lix, like Nix) 2.93.0\nSystem type: x86_64-linux', (2, 93, 0)),
    ('nix (Nix) 2.34pre20260101_abcdef', (2, 34, 0)),
    ('', None),
    ('sh: nix: not found', None),
])
def test_nix_versions_are_read(text, version):
    assert estate.parse_nix_version(text) == version


def test_old_nix_is_refused_before_anything_changes():
    problem = estate.nix_version_problem((2, 8, 0), 'nix_client', 'c1')
    assert 'nix_client needs Nix 2.16 or newer on c1, which has 2.8.0' in problem
    assert 'nix_install_method=installer' in problem and 'Nothing was changed' in problem
    assert estate.nix_version_problem((2, 16, 0), 'nix_client', 'c1') is None
    assert estate.nix_version_problem(None, 'nix_client', 'c1') is None  # no Nix: the role says so itself


# Which descriptors a role reads from their hosts (the estate action's plan), and how the
# controller reaches those hosts to probe them first.

@pytest.mark.parametrize('hostvars, expected', [
    ({}, ('c1', 22)),
    ({'ansible_host': '10.0.0.5'}, ('10.0.0.5', 22)),
    ({'ansible_host': '10.0.0.5', 'ansible_port': '2222'}, ('10.0.0.5', 2222)),  # INI: a string
    ({'ansible_port': 2200, 'ansible_connection': 'ssh'}, ('c1', 2200)),
    ({'ansible_port': ''}, ('c1', 22)),
    # What other Nix hosts use does not change how the controller gets there.
    ({'ansible_host': '10.0.0.5', 'nixkit_address': '192.168.1.5', 'nixkit_ssh_port': '2222'}, ('10.0.0.5', 22)),
    ({'ansible_connection': 'local'}, None),
    ({'ansible_connection': 'community.general.podman'}, None),
])
def test_controller_ssh(hostvars, expected):
    assert estate.controller_ssh('c1', {'c1': hostvars}) == expected


@pytest.mark.parametrize('port', ['ssh', '0', '70000', True])
def test_controller_ssh_refuses_a_port_naming_the_variable(port):
    with pytest.raises(estate.EstateError, match='ansible_port of c1'):
        estate.controller_ssh('c1', {'c1': {'ansible_port': port}})


def test_descriptor_reads_per_role():
    groups = {'nix_clients': ['c1', 'dual', 'c2'], 'nix_builders': ['dual', 'b2'], 'nix_caches': ['k1'],
              'other': ['w1']}
    published = {'c1': {'client'}, 'dual': {'client', 'builder'}}
    builder = {'nix_builder_clients_group': 'nix_clients'}
    assert role_plans.descriptor_reads('nix_builder', groups, builder, published) == [{'host': 'c2', 'kind': 'client'}]
    cache = {'nix_cache_server_clients_group': 'nix_clients', 'nix_cache_server_ssh_writers': ['w1', 'c2', 'gone']}
    assert role_plans.descriptor_reads('nix_cache_server', groups, cache, published) == [
        {'host': 'c2', 'kind': 'client'}, {'host': 'w1', 'kind': 'client'}]
    client = {'nix_client_builders_group': 'nix_builders', 'nix_client_caches_group': 'nix_caches',
              'nix_client_cache_descriptor_path': None}
    assert role_plans.descriptor_reads('nix_client', groups, client, published) == [
        {'host': 'b2', 'kind': 'builder'}, {'host': 'k1', 'kind': 'cache'}]
    # Custom group names, a group with no hosts, a group that does not exist.
    assert role_plans.descriptor_reads('nix_builder', dict(groups, farm_clients=[]),
                                       {'nix_builder_clients_group': 'farm_clients'}, {}) == []
    assert role_plans.descriptor_reads('nix_builder', groups, {'nix_builder_clients_group': 'nope'}, {}) == []
    assert role_plans.descriptor_reads('nix_install', groups, {}, {}) == []
    assert role_plans.descriptor_reads('nixos_deploy', groups, {}, {}) == []

# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_deploy reaches its target as every Nix host of the estate is reached (plugin_utils/_plan_deploy.py)."""

import pytest

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate
from ansible_collections.nixkit.nix.plugins.plugin_utils import _plan_deploy as plan_deploy

DEPLOYS = {'nixos_deploy_file': '/srv/fleet/systems.nix', 'nixos_deploy_flake': '', 'nixos_deploy_target_address': ''}


def target(hostvars, **args):
    return plan_deploy.target('web1', {'web1': hostvars}, dict(DEPLOYS, **args))


def test_the_inventory_name_port_22_and_no_options_by_default():
    assert target({}) == {'name': 'web1', 'address': 'web1', 'port': 22, 'options': {}, 'sshopts': '',
                          'store_url': 'ssh-ng://root@web1'}


def test_nixkit_address_and_a_bastion_are_used_as_every_other_role_uses_them():
    # The address other Nix hosts use wins over the controller's; the port comes from INI as a string.
    reach = target({'ansible_host': '192.0.2.5', 'nixkit_address': 'web1.internal', 'ansible_port': '2222',
                    'nixkit_ssh_options': {'ProxyJump': 'root@bastion:2200', 'Compression': True}})
    assert reach['address'] == 'web1.internal' and reach['port'] == 2222
    assert reach['store_url'] == 'ssh-ng://root@web1.internal'
    assert reach['sshopts'] == ('-p 2222 -o HostKeyAlias=web1.internal -o Compression=yes '
                                '-o ProxyJump=root@bastion:2200')
    # The clients' ssh_config says the same for this host (one function for both).
    hostvars = {'web1': {'ansible_host': '192.0.2.5', 'nixkit_address': 'web1.internal', 'ansible_port': '2222',
                         'nixkit_ssh_options': {'ProxyJump': 'root@bastion:2200', 'Compression': True}}}
    assert estate.nix_sshopts(estate.peer_ssh('web1', hostvars)) == reach['sshopts']


def test_the_deploys_own_address_wins_for_the_deploy_only():
    reach = target({'ansible_host': '192.0.2.5', 'nixkit_address': 'web1.internal'},
                   nixos_deploy_target_address=' web1.deploy.example.org ')
    assert reach['address'] == 'web1.deploy.example.org'
    assert reach['store_url'] == 'ssh-ng://root@web1.deploy.example.org'


def test_a_host_with_nothing_to_deploy_is_not_checked():
    # Its preflight skips it; a bad port of a host the deploy does not touch must not stop the play.
    assert plan_deploy.target('web1', {'web1': {'ansible_port': 'x'}},
                              dict(DEPLOYS, nixos_deploy_file='')) is None


@pytest.mark.parametrize('hostvars, args, says', [
    ({'ansible_port': '70000'}, {}, 'ansible_port of web1 must be between 1 and 65535, got 70000'),
    ({'nixkit_ssh_port': 'ssh'}, {}, "nixkit_ssh_port of web1 must be a number, got 'ssh'"),
    ({'nixkit_address': 'web 1'}, {}, 'nixkit_address (or ansible_host) of web1 must be a host name or address'),
    ({}, {'nixos_deploy_target_address': 'root@web1'}, 'nixos_deploy_target_address of web1 must be a host name'),
    ({'nixkit_ssh_options': 'ProxyJump=bastion'}, {}, 'nixkit_ssh_options of web1 must be a mapping'),
    ({'nixkit_ssh_options': {'Port': '2222'}}, {}, 'Port is set by the collection; use nixkit_address or nixkit_ssh_port'),
    ({'nixkit_ssh_options': {'ProxyCommand': 'ssh -W %h:%p bastion'}}, {},
     'ProxyCommand has spaces in its value, which the deploy cannot pass'),
])
def test_values_the_deploy_cannot_use_are_refused_naming_the_variable(hostvars, args, says):
    with pytest.raises(estate.EstateError) as error:
        target(hostvars, **args)
    assert says in str(error.value)

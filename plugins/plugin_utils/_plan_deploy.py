# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""nixos_deploy's plan: how the build host reaches the target it deploys to.

The target is reached the way every other Nix host of the estate is reached (``_estate.peer_ssh``):
``nixkit_address`` (else ``ansible_host``, else the inventory name), ``nixkit_ssh_port`` (else
``ansible_port``, else 22), the ssh_config options of ``nixkit_ssh_options`` (a ProxyJump bastion).
``nixos_deploy_target_address``, the deploy's own variable, names another address for the deploy only.
The build host's Nix gets the port and the options through ``NIX_SSHOPTS`` (Nix ignores ports in
store URLs); the host key is pinned in the store URL once the access step has read it."""

from __future__ import annotations

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate


def target(host, hostvars, args):
    """{name, address, port, options, sshopts, store_url} of target ``host``, or None when it has nothing
    to deploy (its preflight skips it; its reach is not checked then).

    ``hostvars``: host -> its inventory variables named in _estate.PEER_VARIABLES; ``args``: the role's typed
    variables. Raises EstateError naming the variable for a value the deploy cannot use, before any change."""
    if not (args.get('nixos_deploy_flake') or args.get('nixos_deploy_file')):
        return None
    reach = dict(hostvars.get(host) or {})
    override = (args.get('nixos_deploy_target_address') or '').strip()
    if override:
        if not estate.ADDRESS_RE.match(override):
            raise estate.EstateError('nixos_deploy_target_address of %s must be a host name or address, got %r'
                                     % (host, args['nixos_deploy_target_address']))
        reach['nixkit_address'] = override
    ssh = estate.peer_ssh(host, {host: reach})
    spaced = sorted(name for name, value in ssh['options'].items() if ' ' in value)
    if spaced:
        # Nix splits NIX_SSHOPTS on spaces, so such a value would reach ssh cut in pieces.
        raise estate.EstateError(
            'nixkit_ssh_options of %s: %s has spaces in its value, which the deploy cannot pass to the build host\'s '
            'Nix (NIX_SSHOPTS is split on spaces). Use ProxyJump (user@bastion:port) instead of ProxyCommand, or give '
            'the build host an ssh_config entry for %s and leave the option out.' % (host, ', '.join(spaced), ssh['address']))
    return dict(ssh, sshopts=estate.nix_sshopts(ssh), store_url='ssh-ng://root@' + ssh['address'])

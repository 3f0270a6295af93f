# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab tool's pure parts: host specs, inventory YAML, image naming, mirror discovery."""

import importlib.util
import os

import pytest
import yaml

_PATH = os.path.join(os.path.dirname(__file__), '..', '..', 'lab', 'nixlab.py')
_SPEC = importlib.util.spec_from_file_location('nixlab', _PATH)
nixlab = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(nixlab)


@pytest.mark.parametrize('spec, expected', [
    ('h1', {'name': 'h1', 'variant': 'nix', 'groups': []}),
    ('h2:bare', {'name': 'h2', 'variant': 'bare', 'groups': []}),
    ('b1:nix=nix_builders,nix_caches', {'name': 'b1', 'variant': 'nix', 'groups': ['nix_builders', 'nix_caches']}),
    ('b1:nix28=nix_builders', {'name': 'b1', 'variant': 'nix28', 'groups': ['nix_builders']}),
    ('nix28:nix28', {'name': 'nix28', 'variant': 'nix28', 'groups': []}),
    ('s1:nixsid=nix_caches', {'name': 's1', 'variant': 'nixsid', 'groups': ['nix_caches']}),
])
def test_host_specs(spec, expected):
    assert nixlab.parse_spec(spec) == expected


@pytest.mark.parametrize('spec', ['', 'H1', 'h1:alpine', 'h1=', 'h1=bad group', 'x' * 40,
                                  'h1:nix2', 'h1:nix286', 'h1:NIX28', 'h1:nixsi', 'h1:sid'])
def test_bad_host_specs_are_refused(spec):
    with pytest.raises(nixlab.LabError):
        nixlab.parse_spec(spec)


def test_inventory_yaml_reads_back_as_written():
    inventory = {'all': {'hosts': {'h1': {'ansible_host': '10.0.0.2', 'ansible_port': 22,
                                          'ansible_ssh_common_args': '-o A=b -o "C=d e"'}},
                         'children': {'nix_clients': {'hosts': {'h1': {}}}}}}
    assert yaml.safe_load('\n'.join(nixlab.yaml_lines(inventory))) == inventory


def test_image_names_follow_the_recipe():
    assert nixlab.image_name('nix') == nixlab.image_name('nix')
    assert nixlab.image_name('nix') != nixlab.image_name('bare')
    assert nixlab.image_name('bare').startswith(nixlab.IMAGE_REPO + ':bare-')


def test_nix28_variant_is_bookworm_with_the_sandbox_off():
    suite, steps = nixlab.VARIANTS['nix28']
    assert suite == 'bookworm'
    script = '\n'.join(steps)
    # nix-bin goes in with apt inside the chroot (debootstrap --include fails on perl-dbdabi-94).
    assert 'apt-get install' in script and 'nix-bin nix-setup-systemd' in script
    assert 'nix-bin' not in nixlab.INCLUDE
    assert 'sandbox = false' in script
    assert nixlab.image_name('nix28').startswith(nixlab.IMAGE_REPO + ':nix28-')
    assert nixlab.image_name('nix28') not in (nixlab.image_name('nix'), nixlab.image_name('bare'))
    # `image` (all) builds only the trixie images; nix28 is built when a run asks for it.
    assert 'nix28' not in nixlab.DEFAULT_VARIANTS


def test_nixsid_variant_is_trixie_with_sids_nix_only():
    suite, steps = nixlab.VARIANTS['nixsid']
    # A sid base would bring sid's systemd, which does not boot on this machine's cgroup v1.
    assert suite == 'trixie'
    script = '\n'.join(steps)
    assert '-t unstable nix-bin nix-setup-systemd' in script
    assert 'Pin-Priority: 100' in script and 'systemd_before' in script
    # No mirror in the recipe: the script reads the one debootstrap wrote into the rootfs.
    assert 'http' not in script
    assert nixlab.image_name('nixsid').startswith(nixlab.IMAGE_REPO + ':nixsid-')
    assert nixlab.image_name('nixsid') not in (nixlab.image_name(v) for v in ('nix', 'bare', 'nix28'))
    assert 'nixsid' not in nixlab.DEFAULT_VARIANTS


def test_nix_flavour_maps_only_nix_hosts():
    hosts = [nixlab.parse_spec(s) for s in ('a', 'b:bare', 'c:nix28=nix_clients', 'd:nix=nix_builders')]
    assert nixlab.apply_nix_flavour(hosts, '') == hosts
    assert nixlab.apply_nix_flavour(hosts, 'trixie') == hosts
    assert [h['variant'] for h in nixlab.apply_nix_flavour(hosts, 'sid')] == ['nixsid', 'bare', 'nix28', 'nixsid']
    assert nixlab.apply_nix_flavour(hosts, 'sid')[3]['groups'] == ['nix_builders']
    assert hosts[0]['variant'] == 'nix'  # the caller's list is not changed


@pytest.mark.parametrize('flavour', ['Sid', 'unstable', 'nixsid', '2.34'])
def test_unknown_nix_flavour_names_the_variable(flavour):
    with pytest.raises(nixlab.LabError, match='NIXKIT_LAB_NIX'):
        nixlab.apply_nix_flavour([nixlab.parse_spec('a')], flavour)


def test_trixie_recipes_are_unchanged_by_the_variant_table():
    # Same hash input as before variants had suites of their own: no rebuild for anyone.
    def digest(parts):
        return nixlab.hashlib.sha256(nixlab.json.dumps(parts).encode()).hexdigest()[:12]
    base = [nixlab.SUITE, nixlab.INCLUDE, nixlab.BASE_SH, nixlab.FINALIZE_SH]
    assert nixlab.image_name('bare') == '%s:bare-%s' % (nixlab.IMAGE_REPO, digest(base))
    assert nixlab.image_name('nix') == '%s:nix-%s' % (nixlab.IMAGE_REPO, digest(base + [nixlab.NIX_SH]))


def test_mirror_comes_from_apt_sources_not_security(tmp_path, monkeypatch):
    sources = tmp_path / 'debian.sources'
    sources.write_text('Types: deb\nURIs: http://security.invalid/debian-security\nSuites: trixie-security\n\n'
                       'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie trixie-updates\n')
    monkeypatch.setattr(nixlab.glob, 'glob', lambda pattern: [str(sources)])
    assert nixlab.default_mirror() == 'http://mirror.invalid/debian'


def test_run_ids_are_checked():
    assert nixlab.RUN_RE.match('t12345-farm')
    assert not nixlab.RUN_RE.match('Bad_Run')

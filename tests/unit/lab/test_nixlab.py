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
])
def test_host_specs(spec, expected):
    assert nixlab.parse_spec(spec) == expected


@pytest.mark.parametrize('spec', ['', 'H1', 'h1:alpine', 'h1=', 'h1=bad group', 'x' * 40])
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


def test_mirror_comes_from_apt_sources_not_security(tmp_path, monkeypatch):
    sources = tmp_path / 'debian.sources'
    sources.write_text('Types: deb\nURIs: http://security.invalid/debian-security\nSuites: trixie-security\n\n'
                       'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie trixie-updates\n')
    monkeypatch.setattr(nixlab.glob, 'glob', lambda pattern: [str(sources)])
    assert nixlab.default_mirror() == 'http://mirror.invalid/debian'


def test_run_ids_are_checked():
    assert nixlab.RUN_RE.match('t12345-farm')
    assert not nixlab.RUN_RE.match('Bad_Run')

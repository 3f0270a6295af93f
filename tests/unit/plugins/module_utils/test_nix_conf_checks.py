# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Store URLs in substituter settings, and setting names checked against what a Nix knows."""

import json

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._nix_conf import (
    NixConfError, check_known_names, check_store_urls, known_settings, store_url_problem, suggest_store_url,
)
from ansible_collections.nixkit.nix.tests.unit.plugins.modules.nix_config_sample import CONFIG_SHOW_JSON

STORE_URL_SETTINGS = ('substituters', 'extra-substituters', 'trusted-substituters', 'extra-trusted-substituters')


@pytest.mark.parametrize('url', [
    'https://cache.nixos.org', 'https://cache.nixos.org/', 'http://10.0.0.5:8080/nix?priority=30',
    'https://[fd00::5]:8443', 's3://nix-cache?region=eu-west-1&endpoint=minio.example.org',
    'ssh://nix-ssh@cache.example.org', 'ssh-ng://nix-ssh@cache.example.org?ssh-key=/root/.ssh/id_cache',
    'ssh-ng://[fd00::7]', 'mounted-ssh-ng://builder', 'file:///var/cache/nix', 'file:///srv/cache?compression=zstd',
    'unix:///nix/var/nix/daemon-socket/socket', 'unix://', 'local', 'local?root=/mnt', 'local://', 'daemon',
    'auto', '/nix/store', '/srv/nix-mirror', '/mnt?read-only=true', 'local-overlay://?lower-store=/mnt', 'dummy://',
])
def test_store_urls_nix_opens_pass(url):
    assert store_url_problem(url) is None
    check_store_urls({'substituters': [url]})


@pytest.mark.parametrize('url, fragment, suggestion', [
    ('cache.example.org', 'it has no scheme', 'https://cache.example.org'),
    ('cache.example.org:8080', 'it has no scheme', 'https://cache.example.org:8080'),
    ('cache.example.org/nix?priority=10', 'a relative path', 'https://cache.example.org/nix?priority=10'),
    ('./store', 'a relative path', None),
    ('cache', 'it has no scheme', None),
    ('https:/cache.example.org', '"//" is missing', 'https://cache.example.org'),
    ('HTTPS://cache.example.org', "the scheme 'HTTPS'", 'https://cache.example.org'),
    ('htps://cache.example.org', "the scheme 'htps'", 'https://cache.example.org'),
    ('ftp://cache.example.org', "the scheme 'ftp'", None),
    ('https://', 'no host', None),
    ('ssh-ng://nix-ssh@', 'no host', None),
    ('file://cache', 'absolute path', None),
])
def test_store_urls_nix_cannot_open_are_refused(url, fragment, suggestion):
    assert fragment in store_url_problem(url)
    assert suggest_store_url(url) == suggestion


@pytest.mark.parametrize('name', STORE_URL_SETTINGS + ('binary-caches',))
def test_refusal_names_the_setting_the_value_and_the_fix(name):
    with pytest.raises(NixConfError) as info:
        check_store_urls({name: ['https://cache.nixos.org', 'cache.example.org']})
    message = str(info.value)
    assert message.startswith("setting %r: 'cache.example.org' is not a store URL: it has no scheme; "
                              "did you mean 'https://cache.example.org'? A store URL starts with http://, https://"
                              % name)


def test_a_single_string_value_is_checked_word_by_word():
    check_store_urls({'substituters': 'https://a.example https://b.example'})
    with pytest.raises(NixConfError):
        check_store_urls({'substituters': 'https://a.example b.example'})


def test_other_settings_and_empty_lists_are_not_store_urls():
    check_store_urls({'builders': '@/etc/nix/machines', 'trusted-public-keys': ['cache.example.org-1:abc='],
                      'substituters': [], 'extra-substituters': None})


def test_known_settings_reads_names_aliases_and_list_settings():
    names, appendable = known_settings(CONFIG_SHOW_JSON)
    assert {'builders', 'substituters', 'binary-caches', 'max-jobs', 'build-max-jobs', 'trusted-users'} <= names
    # Lists, sets and maps take extra-; strings, numbers and booleans do not.
    assert {'substituters', 'binary-caches', 'trusted-users', 'impure-env', 'sandbox-paths'} <= appendable
    assert not {'builders', 'max-jobs', 'require-sigs', 'store', 'post-build-hook'} & appendable


def test_known_settings_without_values_allows_extra_forms():
    names, appendable = known_settings(json.dumps({'cores': {'description': '', 'aliases': []}, 'store': 'auto'}))
    assert names == {'cores', 'store'} and appendable == {'cores', 'store'}


@pytest.mark.parametrize('text', ['', 'warning: something\n', '[]', '{}', '"x"'])
def test_known_settings_refuses_what_is_not_a_settings_object(text):
    with pytest.raises(ValueError):
        known_settings(text)


@pytest.fixture
def known():
    return known_settings(CONFIG_SHOW_JSON)


def test_known_names_aliases_and_extra_forms_of_lists_pass(known):
    check_known_names(['builders', 'max-jobs', 'build-max-jobs', 'extra-substituters', 'extra-binary-caches',
                       'extra-trusted-users', 'extra-experimental-features', 'extra-impure-env'], *known)


def test_a_misspelt_name_is_refused_with_the_nearest_one(known):
    with pytest.raises(NixConfError) as info:
        check_known_names(['builders', 'buildersx'], *known)
    assert str(info.value) == ("setting 'buildersx' is not one the Nix on this host knows; did you mean 'builders'? "
                               "If a Nix plugin (plugin-files) provides it, list it in allow_unknown_settings")


def test_a_misspelt_extra_name_gets_the_extra_form_suggested(known):
    with pytest.raises(NixConfError) as info:
        check_known_names(['extra-substituter'], *known)
    assert "did you mean 'extra-substituters'?" in str(info.value)


def test_an_unrelated_name_gets_no_suggestion(known):
    with pytest.raises(NixConfError) as info:
        check_known_names(['frobnicate-level'], *known)
    assert "setting 'frobnicate-level' is not one the Nix on this host knows. If a Nix plugin" in str(info.value)


def test_extra_form_of_a_scalar_setting_is_refused(known):
    with pytest.raises(NixConfError) as info:
        check_known_names(['extra-max-jobs'], *known)
    assert str(info.value) == ("setting 'extra-max-jobs': max-jobs is not a list, so Nix has no extra-max-jobs "
                               "form of it; set max-jobs itself")


def test_allow_unknown_names_plugin_settings_and_their_extra_forms(known):
    check_known_names(['example-endpoint', 'extra-example-endpoint', 'extra-example-list'], *known,
                      allow_unknown=['example-endpoint', 'extra-example-list'])
    with pytest.raises(NixConfError):
        check_known_names(['example-other'], *known, allow_unknown=['example-endpoint'])


def test_malformed_names_are_refused_as_such_before_the_lookup(known):
    with pytest.raises(NixConfError) as info:
        check_known_names(['Max Jobs'], *known)
    assert str(info.value).startswith("setting name 'Max Jobs' is invalid")

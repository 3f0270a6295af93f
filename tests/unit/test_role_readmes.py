# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role's README.md is what scripts/role_readmes.py makes from its meta/argument_specs.yml."""

import importlib.util
import os
import shutil

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
_spec = importlib.util.spec_from_file_location('role_readmes', os.path.join(ROOT, 'scripts', 'role_readmes.py'))
role_readmes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_readmes)

ROLES = role_readmes.roles(ROOT)


def test_every_role_is_covered():
    assert set(ROLES) == {name for name in os.listdir(os.path.join(ROOT, 'roles'))
                          if os.path.isdir(os.path.join(ROOT, 'roles', name))}
    assert len(ROLES) >= 5


@pytest.mark.parametrize('role', ROLES)
def test_readme_matches_argument_specs(role):
    path, current, wanted = role_readmes.expected(ROOT, role)
    assert current is not None, '%s is missing: run python3 scripts/role_readmes.py' % os.path.relpath(path, ROOT)
    assert current == wanted, '%s differs from its meta/argument_specs.yml: run python3 scripts/role_readmes.py' % (
        os.path.relpath(path, ROOT))


@pytest.mark.parametrize('role', ROLES)
def test_readme_names_every_variable(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    with open(os.path.join(ROOT, 'roles', role, 'README.md')) as handle:
        text = handle.read()
    for entry, spec in specs.items():
        for name in spec.get('options') or {}:
            assert '| `%s` |' % name in text, '%s (%s) is not in the README of %s' % (name, entry, role)


def _copy_role(tmp_path, role):
    shutil.copytree(os.path.join(ROOT, 'roles', role), str(tmp_path / 'roles' / role))
    return tmp_path / 'roles' / role


def test_check_fails_on_drift_and_the_script_repairs_it(tmp_path, capsys):
    role = _copy_role(tmp_path, 'nix_builder')
    specs_path = role / 'meta' / 'argument_specs.yml'
    specs = yaml.safe_load(specs_path.read_text())
    specs['argument_specs']['main']['options']['nix_builder_user']['description'] = 'A C(new) account. See O(nix_builder_home).'
    specs_path.write_text(yaml.safe_dump(specs))
    # Hand-written prose above the generated part stays.
    readme = role / 'README.md'
    readme.write_text(readme.read_text().replace('# nixkit.nix.nix_builder\n', '# nixkit.nix.nix_builder\n\nWritten by hand.\n'))

    assert role_readmes.main(['--check', '--root', str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert 'roles/nix_builder/README.md differ from meta/argument_specs.yml' in out
    assert '+| `nix_builder_user` | str | `"nixbuilder"` | A `new` account. See `nix_builder_home`. |' in out

    assert role_readmes.main(['--root', str(tmp_path)]) == 0
    assert role_readmes.main(['--check', '--root', str(tmp_path)]) == 0
    text = readme.read_text()
    assert 'Written by hand.' in text
    assert text.count(role_readmes.BEGIN) == 1 and text.count(role_readmes.END) == 1


def test_a_role_without_readme_gets_one(tmp_path):
    role = _copy_role(tmp_path, 'nix_install')
    (role / 'README.md').unlink()
    assert role_readmes.main(['--check', '--root', str(tmp_path)]) == 1
    assert not (role / 'README.md').exists()  # --check writes nothing
    assert role_readmes.main(['--root', str(tmp_path)]) == 0
    assert (role / 'README.md').read_text().startswith('# nixkit.nix.nix_install\n\n' + role_readmes.BEGIN)


@pytest.mark.parametrize('source, markdown', [
    ('C(nix.conf) and V(true)', '`nix.conf` and `true`'),
    ('see M(nixkit.nix.nix_build) O(nixkit.nix.nix_build#module:options)', 'see `nixkit.nix.nix_build` `options` of `nixkit.nix.nix_build`'),
    ('I(one) B(two) U(https://example.org)', '*one* **two** <https://example.org>'),
    ('L(the manual, https://example.org/m)', '[the manual](https://example.org/m)'),
    ('a | b', 'a | b'),
])
def test_markup(source, markdown):
    assert role_readmes.markdown(source) == [markdown]


def test_table_cells_escape_pipes():
    rows = role_readmes._option_rows({'x_v': {'description': 'a | b', 'type': 'str', 'default': 'c|d'}})
    assert rows == ['| `x_v` | str | `"c\\|d"` | a \\| b |']

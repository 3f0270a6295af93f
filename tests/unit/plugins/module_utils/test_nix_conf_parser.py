# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._nix_conf import (
    NixConfError, apply, effective, normalize, parse, render,
)

SAMPLE = """\
# Managed partly by hand
build-users-group = nixbld
max-jobs = 2   # keep the laptop usable

include /etc/nix/local.conf
!include /etc/nix/optional.conf
substituters = https://a.example https://b.example
trusted-users = root
substituters = https://c.example
"""


def edit(text, settings, **kwargs):
    lines, changed = apply(parse(text), settings, **kwargs)
    return render(lines), changed


def test_round_trip_keeps_every_byte():
    assert render(parse(SAMPLE)) == SAMPLE


def test_round_trip_without_final_newline_adds_one():
    assert render(parse('max-jobs = 1')) == 'max-jobs = 1\n'


def test_empty_file():
    assert parse('') == []
    assert edit('', {'cores': 2}) == ('cores = 2\n', ['cores'])


def test_effective_value_is_the_last_definition():
    values = effective(parse(SAMPLE))
    assert values['substituters'] == 'https://c.example'
    assert values['max-jobs'] == '2'
    assert 'include' not in values


def test_hash_starts_a_comment_anywhere():
    values = effective(parse('sandbox = true#comment\n'))
    assert values == {'sandbox': 'true'}


def test_set_keeps_inline_comment_and_other_lines():
    text, changed = edit(SAMPLE, {'max-jobs': 8})
    assert 'max-jobs = 8 # keep the laptop usable\n' in text
    assert text.replace('max-jobs = 8 # keep the laptop usable', 'max-jobs = 2   # keep the laptop usable') == SAMPLE
    assert changed == ['max-jobs']


def test_unchanged_value_leaves_line_as_written():
    text, changed = edit(SAMPLE, {'max-jobs': '2', 'trusted-users': ['root']})
    assert text == SAMPLE
    assert changed == []


def test_duplicates_collapse_onto_the_effective_definition():
    text, changed = edit(SAMPLE, {'substituters': ['https://d.example']})
    assert text.count('substituters') == 1
    # the kept line is where the last definition was: after the includes
    assert text.index('include /etc/nix/local.conf') < text.index('substituters = https://d.example')
    assert changed == ['substituters']


def test_duplicates_alone_count_as_a_change():
    text, changed = edit('cores = 1\ncores = 2\n', {'cores': 2})
    assert text == 'cores = 2\n'
    assert changed == ['cores']


def test_list_merge_adds_missing_items_in_order():
    text, changed = edit(SAMPLE, {'substituters': ['https://c.example', 'https://e.example'],
                                  'trusted-users': ['root', 'builder']}, list_mode='merge')
    values = effective(parse(text))
    assert values['substituters'] == 'https://c.example https://e.example'
    assert values['trusted-users'] == 'root builder'
    assert changed == ['substituters', 'trusted-users']


def test_list_merge_is_idempotent():
    once = edit(SAMPLE, {'trusted-users': ['builder']}, list_mode='merge')[0]
    twice, changed = edit(once, {'trusted-users': ['builder']}, list_mode='merge')
    assert twice == once
    assert changed == []


def test_list_replace_and_empty_list():
    text = edit(SAMPLE, {'substituters': []})[0]
    assert 'substituters =\n' in text
    assert effective(parse(text))['substituters'] == ''


def test_string_value_for_list_setting_is_split():
    text = edit('', {'experimental-features': 'nix-command   flakes'})[0]
    assert text == 'experimental-features = nix-command flakes\n'


def test_extra_prefixed_list_settings_merge():
    text = edit('extra-substituters = a\n', {'extra-substituters': ['b']}, list_mode='merge')[0]
    assert text == 'extra-substituters = a b\n'


def test_merge_on_scalar_setting_just_sets():
    assert edit('cores = 1\n', {'cores': 4}, list_mode='merge')[0] == 'cores = 4\n'


def test_absent_removes_all_definitions():
    text, changed = edit(SAMPLE, {'substituters': None, 'not-there': None}, state='absent')
    assert 'substituters' not in text
    assert 'include /etc/nix/local.conf' in text
    assert changed == ['substituters']


def test_absent_merge_removes_only_given_items():
    text, changed = edit('trusted-users = root alice bob\n', {'trusted-users': ['alice', 'carol']},
                         state='absent', list_mode='merge')
    assert text == 'trusted-users = root bob\n'
    assert changed == ['trusted-users']
    assert edit('', {'trusted-users': ['alice']}, state='absent', list_mode='merge') == ('', [])


@pytest.mark.parametrize('name, value, expected', [
    ('require-sigs', True, ['true']), ('require-sigs', False, ['false']), ('sandbox', 'relaxed', ['relaxed']),
    ('max-jobs', 0, ['0']), ('max-jobs', 'auto', ['auto']), ('cores', '4', ['4']),
    ('builders', '@/etc/nix/machines', ['@/etc/nix/machines']),
    ('trusted-public-keys', ('k-1:abc=', 'k-2:def='), ['k-1:abc=', 'k-2:def=']),
])
def test_value_normalisation(name, value, expected):
    assert normalize(name, value) == expected


@pytest.mark.parametrize('name, value, fragment', [
    ('Max_Jobs', 1, 'setting name'),
    ('max jobs', 1, 'setting name'),
    ('include', '/x', '"include" is not a setting'),
    ('max-jobs', 'many', 'whole number'),
    ('max-jobs', -1, 'whole number'),
    ('cores', [1, 2], 'single value'),
    ('require-sigs', 'yes', 'one of true, false'),
    ('sandbox', 'maybe', 'relaxed'),
    ('substituters', ['a b'], 'without whitespace'),
    ('substituters', [''], 'non-empty'),
    ('post-build-hook', '/bin/hook # evil', '"#"'),
    ('post-build-hook', 'line1\nline2', 'single line'),
    ('max-jobs', None, 'state=absent'),
    ('cores', {'a': 1}, 'a string, number, boolean or list'),
])
def test_invalid_input_is_refused(name, value, fragment):
    with pytest.raises(NixConfError) as excinfo:
        apply(parse(SAMPLE), {name: value})
    assert fragment in str(excinfo.value)


def test_invalid_name_refused_also_when_removing():
    with pytest.raises(NixConfError):
        apply([], {'BAD NAME': None}, state='absent')


@pytest.mark.parametrize('line', ['max-jobs 4', 'include', 'include a b', '= 3'])
def test_lines_nix_would_reject_are_reported(line):
    with pytest.raises(NixConfError) as excinfo:
        parse('cores = 1\n' + line + '\n')
    assert 'line 2' in str(excinfo.value)

# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_nix runs a command again only when the store's database was busy, the way parallel
root processes on one build host make it fail (seen in the nixos_deploy scenario's check run)."""

from ansible_collections.nixkit.nix.plugins.module_utils import _nix_cmd

BUSY = "error: SQLite database '/nix/var/nix/db/db.sqlite' is busy\n"


class Module(object):
    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def get_bin_path(self, name):
        return '/usr/sbin/' + name

    def run_command(self, argv, **kwargs):
        self.calls.append(argv)
        return self.answers.pop(0)


def run(monkeypatch, answers):
    slept = []
    monkeypatch.setattr(_nix_cmd, 'find_nix_tool', lambda module, name='nix': '/usr/bin/' + name)
    monkeypatch.setattr(_nix_cmd.time, 'sleep', slept.append)
    module = Module(answers)
    return _nix_cmd.run_nix(module, ['eval', '--json']), module.calls, slept


def test_a_busy_database_is_tried_again_until_it_answers(monkeypatch):
    result, calls, slept = run(monkeypatch, [(1, '', BUSY), (1, '', BUSY), (0, '"/nix/store/x"', '')])
    assert result == (0, '"/nix/store/x"', '') and len(calls) == 3 and slept == [1, 2]
    assert calls[0] == ['/usr/bin/nix', '--extra-experimental-features', 'nix-command', 'eval', '--json']


def test_it_gives_up_after_the_last_retry_with_nix_s_own_error(monkeypatch):
    result, calls, slept = run(monkeypatch, [(1, '', BUSY)] * 4)
    assert result == (1, '', BUSY) and len(calls) == 4 and slept == [1, 2, 4]


def test_other_failures_and_busy_warnings_are_not_retried(monkeypatch):
    plain = run(monkeypatch, [(1, '', "error: attribute 'v9' missing\n")])
    assert plain[1:] == ([['/usr/bin/nix', '--extra-experimental-features', 'nix-command', 'eval', '--json']], [])
    warned = 'warning: ' + BUSY.replace('error: ', '') + "error: attribute 'x' missing\n"
    assert len(run(monkeypatch, [(1, '', warned)])[1]) == 1
    assert not _nix_cmd.busy_failure(0, BUSY) and _nix_cmd.busy_failure(1, 'copying...\n' + BUSY)

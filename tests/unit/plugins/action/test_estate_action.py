# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the estate action reads the probes of hosts it could not read (plugins/action/estate.py)."""

from ansible_collections.nixkit.nix.plugins.action.estate import ActionModule


def test_a_port_that_did_not_answer_marks_its_host_down():
    probes = [
        {'item': 'up', 'state': 'started', 'elapsed': 0},
        {'item': 'fresh', 'skipped': True},
        {'item': 'gone', 'elapsed': 10, 'msg': 'Timeout when waiting for 10.0.0.9:22'},
        {'item': ['b2', 'builder'], 'elapsed': 10, 'msg': 'Timeout when waiting for 10.0.0.8:22'},
        'not a result',
    ]
    assert ActionModule._down(probes) == {
        'gone': (None, 'Timeout when waiting for 10.0.0.9:22'),
        'b2': ('builder', 'Timeout when waiting for 10.0.0.8:22'),
    }

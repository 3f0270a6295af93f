# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every inventory and playbook example of README.md, the guides and the role READMEs works as written.

Each fenced ``yaml`` block is one of:
- an inventory (top-level groups with ``hosts``/``children``/``vars``): ``ansible-inventory -i FILE --list``
  parses it; its groups are the collection's (or children of them); its variables are role options of
  the argument specs, collection-wide ``nixkit_*`` variables the collection reads, or Ansible's own
  ``ansible_*``; role variables have their declared types (the roles' own converter); every client of
  an HTTP cache with basic auth has its account there;
- a playbook (plays with ``hosts`` or ``import_playbook``) or a task list: ``ansible-playbook
  --syntax-check`` against this working tree as the collection ``nixkit.nix``;
- variables (a ``group_vars``/``host_vars`` file): known names, as above, or names the same document's
  other examples use in a template (a vault's variables);
- a ``{{ ... }}`` expression references only known variables or ones the document defines.
Each ``ansible-playbook`` command of a ``sh`` block names a playbook that passes ``--syntax-check`` (an
installed name such as ``nixkit.nix.site`` or a path of the checkout), and its ``-e`` names are known.
The syntax checks run as one ``ansible-playbook`` over all examples; only when it fails does each
example run alone, to name the one at fault.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

from ansible_collections.nixkit.nix.plugins.plugin_utils import _estate as estate  # noqa: E402
from ansible_collections.nixkit.nix.plugins.plugin_utils import _role_args as role_args  # noqa: E402

BIN = os.path.dirname(sys.executable)
DOCUMENTS = ['README.md'] + sorted(
    os.path.join('docs', 'guides', name) for name in os.listdir(os.path.join(ROOT, 'docs', 'guides'))
    if name.endswith('.md')) + sorted(
    os.path.join('roles', name, 'README.md') for name in os.listdir(os.path.join(ROOT, 'roles'))
    if os.path.exists(os.path.join(ROOT, 'roles', name, 'README.md')))

FENCE = re.compile(r'^( *)```(\w*)\n(.*?)^\1```', re.M | re.S)
TEMPLATE_NAME = re.compile(r'{{\s*([A-Za-z_][A-Za-z0-9_]*)')
INVENTORY_KEYS = {'hosts', 'children', 'vars'}
# Jinja names a template may use besides variables: Ansible's magic variables.
MAGIC = {'inventory_hostname', 'inventory_hostname_short', 'groups', 'group_names', 'hostvars', 'lookup',
         'omit', 'play_hosts', 'ansible_play_hosts_all', 'playbook_dir', 'inventory_dir'}


def _role_options():
    options = {}
    for role in role_args.ROLES:
        with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
            for entry, spec in yaml.safe_load(handle)['argument_specs'].items():
                for name in spec.get('options') or {}:
                    options[name] = role
    return options


def _collection_variables():
    """The nixkit_* names the collection's playbooks, roles and plugins read (not its documentation)."""
    names = set()
    for top in ('playbooks', 'roles', 'plugins'):
        for base, unused_dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(('.yml', '.py', '.j2')) and name != 'argument_specs.yml':
                    with open(os.path.join(base, name)) as handle:
                        names.update(re.findall(r'\bnixkit_[a-z_]+\b', handle.read()))
    return names


ROLE_OPTIONS = _role_options()
COLLECTION_VARIABLES = _collection_variables()
GROUPS = {default for unused_var, default in estate.GROUP_VARIABLES.values()} | {'nix_retired'} | {
    spec.get('default') for role in role_args.ROLES for name, spec in role_args.spec(role).items()
    if name.endswith('_group')} | {'all', 'ungrouped'}
GROUPS.discard(None)


def known_variable(name):
    return name in ROLE_OPTIONS or name in COLLECTION_VARIABLES or name.startswith('ansible_')


def examples(document):
    """(line, language, text) of every fenced block of a document."""
    with open(os.path.join(ROOT, document)) as handle:
        text = handle.read()
    blocks = []
    for match in FENCE.finditer(text):
        indent, language, body = match.groups()
        body = ''.join(line[len(indent):] if line.startswith(indent) else line for line in body.splitlines(True))
        blocks.append((text.count('\n', 0, match.start()) + 1, language, body))
    return blocks


def kind(data):
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        if all('hosts' in item or 'import_playbook' in item or 'ansible.builtin.import_playbook' in item for item in data):
            return 'playbook'
        return 'tasks'
    if isinstance(data, dict) and data and all(
            isinstance(value, dict) and value and set(value) <= INVENTORY_KEYS for value in data.values()):
        return 'inventory'
    if isinstance(data, dict):
        return 'vars'
    return None


def _templates(value):
    if isinstance(value, dict):
        return [name for item in value.values() for name in _templates(item)] + [
            name for key in value for name in _templates(key)]
    if isinstance(value, list):
        return [name for item in value for name in _templates(item)]
    return TEMPLATE_NAME.findall(value) if isinstance(value, str) else []


def _run(argv, cwd, env=None):
    full = dict(os.environ, ANSIBLE_CONFIG=os.path.join(cwd, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                ANSIBLE_INVENTORY_UNPARSED_FAILED='1', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='1',
                **(env or {}))
    return subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=300, check=False)


Example = namedtuple('Example', 'where document line what data body')
Command = namedtuple('Command', 'where document line argv')


def _yaml_blocks():
    """(where, document, line, kind, data, body) of every YAML example."""
    out = []
    for document in DOCUMENTS:
        for line, language, body in examples(document):
            if language in ('yaml', 'yml'):
                data = yaml.safe_load(body)
                out.append(Example('%s line %d' % (document, line), document, line, kind(data), data, body))
    return out


def _commands():
    """(where, document, line, argv) of every ansible-playbook command of a shell example."""
    out = []
    for document in DOCUMENTS:
        for line, language, body in examples(document):
            if language in ('sh', 'bash', 'console'):
                for command in body.replace('\\\n', ' ').splitlines():
                    if command.strip().startswith('ansible-playbook '):
                        out.append(Command('%s line %d: %s' % (document, line, command.strip()), document, line,
                                           shlex.split(command, comments=True)))
    return out


YAML_BLOCKS = _yaml_blocks()
COMMANDS = _commands()


@pytest.fixture(scope='module')
def workdir():
    """A directory where ``nixkit.nix`` is this working tree (a link), with the checkout's playbooks at hand."""
    with tempfile.TemporaryDirectory(prefix='nixkit-examples.') as tmp:
        os.makedirs(os.path.join(tmp, 'collections', 'ansible_collections', 'nixkit'))
        os.symlink(ROOT, os.path.join(tmp, 'collections', 'ansible_collections', 'nixkit', 'nix'))
        for name in ('site.yml', 'playbooks'):
            os.symlink(os.path.join(ROOT, name), os.path.join(tmp, name))
        with open(os.path.join(tmp, 'ansible.cfg'), 'w') as handle:
            handle.write('[defaults]\ncollections_path = %s\n' % os.path.join(tmp, 'collections'))
        with open(os.path.join(tmp, 'localhost.yml'), 'w') as handle:
            handle.write('all: {hosts: {localhost: {ansible_connection: local}}}\n')
        yield tmp


@pytest.fixture(scope='module')
def inventories(workdir):
    """where -> ansible-inventory's result, for every inventory example (a few at once)."""
    todo = [(block.where, block.body) for block in YAML_BLOCKS if block.what == 'inventory']

    def parse(item):
        where, body = item
        path = os.path.join(workdir, 'inventory-%d.yml' % todo.index(item))
        with open(path, 'w') as handle:
            handle.write(body)
        return where, _run([os.path.join(BIN, 'ansible-inventory'), '-i', path, '--list'], workdir)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(parse, todo))


def _playbook_files(workdir):
    """where -> playbook file (relative to workdir) of every playbook, task list and command."""
    files = {}
    for index, block in enumerate(YAML_BLOCKS):
        if block.what in ('playbook', 'tasks'):
            plays = block.data if block.what == 'playbook' else [
                {'name': 'Example', 'hosts': 'all', 'gather_facts': False, 'tasks': block.data}]
            name = 'example-%d.yml' % index
            with open(os.path.join(workdir, name), 'w') as handle:
                yaml.safe_dump(plays, handle)
            files[block.where] = name
    for command in COMMANDS:
        files[command.where] = _playbook_argument(command.argv)
    return files


def _playbook_argument(argv):
    """The playbook an ansible-playbook command line names (its one positional argument)."""
    takes_value = {'-i', '--inventory', '-e', '--extra-vars', '-l', '--limit', '-f', '--forks', '-t', '--tags',
                   '--skip-tags', '-u', '--user', '--vault-id', '--vault-password-file'}
    args = argv[1:]
    positional = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith('-'):
            positional.append(arg)
    assert len(positional) == 1, 'one playbook per command: %s' % ' '.join(argv)
    return positional[0]


@pytest.fixture(scope='module')
def syntax(workdir):
    """(files, result) of one ``ansible-playbook --syntax-check`` over every example playbook at once."""
    files = _playbook_files(workdir)
    with open(os.path.join(workdir, 'all-examples.yml'), 'w') as handle:
        yaml.safe_dump([{'ansible.builtin.import_playbook': name} for name in sorted(set(files.values()))], handle)
    return files, _syntax_check(['all-examples.yml'], workdir), workdir


def _syntax_check(args, workdir):
    return _run([os.path.join(BIN, 'ansible-playbook'), '--syntax-check', '-i', 'localhost.yml'] + args, workdir)


def _inventory_problems(data, listed):
    problems = []
    hostvars = listed.get('_meta', {}).get('hostvars', {})
    groups = {name: value for name, value in listed.items() if name != '_meta'}
    parents = {}
    for name, value in groups.items():
        for child in value.get('children', []):
            parents.setdefault(child, set()).add(name)

    def collection_group(name, seen=()):
        return name in GROUPS or any(collection_group(p, seen + (name,)) for p in parents.get(name, ()) if p not in seen)

    # Group names a value of *_group in the example renames to.
    renamed = {value for variables in hostvars.values() for key, value in variables.items()
               if key.endswith('_group') and isinstance(value, str)}
    for name in groups:
        if not collection_group(name) and name not in renamed:
            problems.append('group %s is none of the collection\'s (%s) nor a child of one'
                            % (name, ', '.join(sorted(GROUPS - {'all', 'ungrouped'}))))
    members = {}
    for name in groups:
        members[name] = sorted(_hosts(listed, name))
    for host, variables in sorted(hostvars.items()):
        for name in sorted(variables):
            if not known_variable(name):
                problems.append('%s: variable %s is no role option nor collection variable' % (host, name))
        for role in role_args.ROLES:
            values = {k: v for k, v in variables.items() if k in role_args.spec(role)
                      and '{{' not in json.dumps(v)}
            try:
                role_args.typed(role, values)
            except role_args.RoleArgsError as exc:
                problems.append('%s: %s' % (host, exc))
    # Every client of an HTTP cache with basic auth has its account on that cache.
    for cache in members.get('nix_caches', []):
        variables = hostvars.get(cache, {})
        http = {k: v for k, v in variables.items() if k in ('nix_cache_server_http', 'nix_cache_server_http_auth')}
        if not role_args.typed('nix_cache_server', http).get('nix_cache_server_http', False):
            continue
        if variables.get('nix_cache_server_http_auth', True) in (False, 'false'):
            continue
        for client in members.get('nix_clients', []):
            cvars = hostvars.get(client, {})
            if 'http' not in cvars.get('nix_client_cache_transports', ['ssh', 'http']):
                continue
            login = cvars.get('nix_client_cache_http_login') or client
            if not estate._account({cache: variables}, cache, login):
                problems.append('%s serves HTTP with basic auth but nix_cache_server_http_users has no account '
                                '%s (for client %s)' % (cache, login, client))
    return problems


def _hosts(listed, group, seen=()):
    value = listed.get(group, {})
    hosts = set(value.get('hosts', []))
    for child in value.get('children', []):
        if child not in seen:
            hosts |= _hosts(listed, child, seen + (group,))
    return hosts


def _document_names(document):
    """Every name a document's YAML examples define (variables files) or use in a template."""
    defined = set()
    for block in YAML_BLOCKS:
        if block.document == document:
            defined.update(_templates(block.data))
            if block.what == 'vars':
                defined.update(block.data)
    return defined


@pytest.mark.parametrize('where, document, what, data', [
    pytest.param(block.where, block.document, block.what, block.data, id=block.where) for block in YAML_BLOCKS])
def test_yaml_example(where, document, what, data, inventories, syntax):
    assert what, '%s: a YAML example that is no inventory, playbook, task list nor variables file' % where
    defined = _document_names(document)
    unknown = sorted(name for name in set(_templates(data)) - MAGIC if not known_variable(name) and name not in defined)
    assert not unknown, '%s: templates use %s, defined nowhere' % (where, ', '.join(unknown))
    if what == 'inventory':
        result = inventories[where]
        assert result.returncode == 0 and '[WARNING]' not in result.stderr, '%s: %s' % (where, result.stderr)
        problems = _inventory_problems(data, json.loads(result.stdout))
        assert not problems, '%s:\n  %s' % (where, '\n  '.join(problems))
    elif what == 'vars':
        unknown = sorted(name for name in data if not known_variable(name) and name not in defined)
        assert not unknown, '%s: %s are no role options, collection variables or names the document uses' % (
            where, ', '.join(unknown))
    else:
        _assert_syntax(where, syntax)


def _assert_syntax(where, syntax):
    files, result, workdir = syntax
    if result.returncode == 0:
        return
    # Some example failed: find out whether it is this one.
    alone = _syntax_check([files[where]], workdir)
    assert alone.returncode == 0, '%s:\n%s%s' % (where, alone.stdout, alone.stderr)


@pytest.mark.parametrize('where, argv', [pytest.param(command.where, command.argv, id=command.where) for command in COMMANDS])
def test_command(where, argv, syntax):
    names = []
    args = argv[1:]
    for i, arg in enumerate(args):
        if arg in ('-e', '--extra-vars') and i + 1 < len(args):
            value = args[i + 1]
            names.extend(json.loads(value) if value.startswith('{') else [value.split('=', 1)[0]])
    unknown = sorted(name for name in names if not known_variable(name))
    assert not unknown, '%s passes unknown variables %s' % (where, ', '.join(unknown))
    _assert_syntax(where, syntax)


def test_there_are_examples_of_each_kind():
    kinds = {block.what for block in YAML_BLOCKS}
    assert {'inventory', 'playbook', 'tasks', 'vars'} <= kinds
    assert len(COMMANDS) >= 10


def test_every_document_has_examples():
    for document in ['README.md'] + [d for d in DOCUMENTS if d.startswith('docs/guides/') and 'awx' not in d]:
        assert any(example[1] in ('yaml', 'sh') for example in examples(document)), document


def _module_table():
    with open(os.path.join(ROOT, 'README.md')) as handle:
        text = handle.read()
    table = text.split('### Modules', 1)[1].split('\n\n', 2)[1]
    return re.findall(r'^\| `([a-z_]+)` \|', table, re.M)


def test_module_table_lists_every_module():
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if name.endswith('.py') and not name.startswith('_'))
    assert sorted(_module_table()) == modules


# Documents another branch adds (the AWX/AAP guide); a link to one is accepted until it exists, then checked.
PENDING = {'docs/guides/awx.md'}
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')


@pytest.mark.parametrize('document', DOCUMENTS)
def test_links_reach_files_of_the_repository(document):
    with open(os.path.join(ROOT, document)) as handle:
        text = handle.read()
    assert not re.search(r'\bseeds? \d', text, re.I), '%s names a source document ("seed"): name the workflow' % document
    for target in LINK.findall(text):
        if re.match(r'^[a-z]+:', target):
            continue
        path = os.path.normpath(os.path.join(os.path.dirname(document), target))
        if path in PENDING and not os.path.exists(os.path.join(ROOT, path)):
            continue
        assert os.path.exists(os.path.join(ROOT, path)), '%s links to %s, which the repository does not have' % (
            document, target)

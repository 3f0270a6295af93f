# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validate builder dicts and render them as a Nix machines file (the `builders = @FILE` format).

One machine a line or after a `;`, then `#` starts a comment. Columns are whitespace-separated,
`-` for an empty one, lists joined by commas:
    URI SYSTEMS SSH_KEY MAX_JOBS SPEED_FACTOR SUPPORTED_FEATURES MANDATORY_FEATURES HOST_KEY
Checked against Nix 2.26.3 in the lab: `host:PORT` and `?port=` in the URI never reach ssh,
a machine with max-jobs 0 is never chosen, and a mandatory feature also counts as supported.
"""

import base64
import binascii
import difflib
import ipaddress
import re
import struct

# Private module_utils: no public API promise.

# No ";" here: Nix splits machines on ";" as on newlines before it strips comments (2.26, lab-verified).
HEADER = '# Managed by nixkit.nix.nix_machines - edits here are overwritten.'

KNOWN_KEYS = ('host', 'protocol', 'user', 'port', 'systems', 'ssh_key', 'max_jobs', 'speed_factor',
              'supported_features', 'mandatory_features', 'public_host_key')
PROTOCOLS = ('ssh-ng', 'ssh')
HOST_KEY_TYPES = ('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384',
                  'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com')

# Host names (or ssh_config aliases) and user names: nothing Nix or ssh would split or reinterpret.
HOST_RE = re.compile(r'^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$')
USER_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')
# cpu-os, and Nix's own micro-architecture levels such as x86_64-v3-linux (in extra-platforms).
SYSTEM_RE = re.compile(r'^[a-z0-9_]+(-[a-z0-9_]+)+$')
FEATURE_RE = re.compile(r'^[a-zA-Z0-9_.+-]+$')

# The cpu-os pairs ("doubles") Nix builds for: the `all` list of nixpkgs lib/systems/doubles.nix
# (https://github.com/NixOS/nixpkgs/blob/master/lib/systems/doubles.nix, the recent version with the
# UEFI, arc and sh4 doubles), plus the *-darwin doubles older versions of that list carry: Nix itself
# still offers x86_64-darwin as an extra platform on Apple silicon with Rosetta 2
# (Settings::getDefaultExtraPlatforms in NixOS/nix). Grouped by OS as there. A system outside
# KNOWN_SYSTEMS needs allow_custom_systems; system_problem() is the check a role or plugin can reuse.
DOUBLES = frozenset((
    # Cygwin
    'i686-cygwin', 'x86_64-cygwin',
    # Darwin
    'aarch64-darwin', 'x86_64-darwin', 'i686-darwin', 'armv7a-darwin',
    # FreeBSD
    'i686-freebsd', 'x86_64-freebsd', 'aarch64-freebsd',
    # Genode
    'aarch64-genode', 'i686-genode', 'x86_64-genode',
    # illumos
    'x86_64-solaris',
    # JS
    'javascript-ghcjs',
    # Linux
    'aarch64-linux', 'arc-linux', 'armv5tel-linux', 'armv6l-linux', 'armv7a-linux', 'armv7l-linux',
    'i686-linux', 'loongarch64-linux', 'm68k-linux', 'microblaze-linux', 'microblazeel-linux',
    'mips-linux', 'mips64-linux', 'mips64el-linux', 'mipsel-linux', 'powerpc-linux', 'powerpc64-linux',
    'powerpc64le-linux', 'riscv32-linux', 'riscv64-linux', 's390-linux', 's390x-linux', 'sh4-linux',
    'x86_64-linux',
    # MMIXware
    'mmix-mmixware',
    # NetBSD
    'aarch64-netbsd', 'armv6l-netbsd', 'armv7a-netbsd', 'armv7l-netbsd', 'i686-netbsd', 'm68k-netbsd',
    'mipsel-netbsd', 'powerpc-netbsd', 'riscv32-netbsd', 'riscv64-netbsd', 'x86_64-netbsd',
    # none (bare metal)
    'aarch64_be-none', 'aarch64-none', 'arm-none', 'armv6l-none', 'avr-none', 'i686-none',
    'microblaze-none', 'microblazeel-none', 'mips-none', 'mips64-none', 'msp430-none', 'or1k-none',
    'm68k-none', 'powerpc-none', 'powerpcle-none', 'riscv32-none', 'riscv64-none', 'rx-none',
    's390-none', 's390x-none', 'vc4-none', 'x86_64-none',
    # OpenBSD
    'i686-openbsd', 'x86_64-openbsd',
    # Redox
    'x86_64-redox',
    # WASI
    'wasm32-wasi', 'wasm64-wasi',
    # Windows
    'aarch64-windows', 'i686-windows', 'x86_64-windows',
    # UEFI
    'aarch64-uefi', 'x86_64-uefi',
))
# Nix adds the x86-64 micro-architecture levels the CPU supports to extra-platforms on Linux
# (computeLevels in NixOS/nix src/libutil/compute-levels.cc), so builders report them.
LEVEL_SYSTEMS = frozenset('x86_64-v%d-linux' % level for level in range(1, 5))
KNOWN_SYSTEMS = DOUBLES | LEVEL_SYSTEMS
KNOWN_CPUS = frozenset(double.split('-')[0] for double in DOUBLES)
KNOWN_OSES = frozenset(double.split('-')[1] for double in DOUBLES)
# Other names for the same CPU or OS (Debian, Go, Rust, Apple spellings), only to suggest a fix.
CPU_ALIASES = {
    'amd64': 'x86_64', 'x64': 'x86_64', 'x86': 'x86_64', 'i386': 'i686', 'i486': 'i686', 'i586': 'i686',
    'arm64': 'aarch64', 'armv8': 'aarch64', 'armhf': 'armv7l', 'armv7': 'armv7l', 'armel': 'armv5tel',
    'ppc': 'powerpc', 'ppc64': 'powerpc64', 'ppc64le': 'powerpc64le', 'ppc64el': 'powerpc64le',
    'loong64': 'loongarch64', 'rv32': 'riscv32', 'rv64': 'riscv64', 'wasm': 'wasm32',
}
OS_ALIASES = {'macos': 'darwin', 'macosx': 'darwin', 'osx': 'darwin', 'gnu': 'linux', 'win': 'windows',
              'win32': 'windows', 'win64': 'windows', 'illumos': 'solaris', 'wasip1': 'wasi'}


class NixMachinesError(ValueError):
    """Invalid input: the message names the builder entry and says how to fix it."""


def _label(index, entry):
    host = entry.get('host') if isinstance(entry, dict) else None
    return 'builders[%d]%s' % (index, ' (%s)' % host if isinstance(host, str) and host else '')


def _host(where, value):
    if not isinstance(value, str) or not value.strip():
        raise NixMachinesError('%s: host is required: a host name or IP address' % where)
    if '://' in value:
        raise NixMachinesError('%s: host %r has a scheme; give the host alone and choose ssh or '
                               'ssh-ng with protocol' % (where, value))
    if '@' in value:
        raise NixMachinesError('%s: host %r contains "@"; give the SSH user with user' % (where, value))
    try:
        address = ipaddress.ip_address(value.strip('[]'))
    except ValueError:
        address = None
    if address is not None:
        return '[%s]' % address if address.version == 6 else str(address)
    if not HOST_RE.match(value):
        raise NixMachinesError('%s: host %r is not a host name or IP address (no spaces, ports, '
                               'paths or "#")' % (where, value))
    return value


def _int(where, key, value, default, minimum):
    if value is None:
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NixMachinesError('%s: %s must be a whole number >= %d, got %r' % (where, key, minimum, value))
    return value


def _words(where, key, value, pattern, required=False):
    if value is None:
        value = []
    if not isinstance(value, list):
        raise NixMachinesError('%s: %s must be a list, got %r' % (where, key, value))
    if required and not value:
        raise NixMachinesError('%s: %s must list at least one system, such as x86_64-linux' % (where, key))
    words = []
    for word in value:
        if not isinstance(word, str) or not pattern.match(word):
            raise NixMachinesError('%s: %s item %r does not match %s' % (where, key, word, pattern.pattern))
        if word not in words:
            words.append(word)
    return words


def suggest_system(value):
    """The known system `value` most likely means (x86-linux -> x86_64-linux), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace('x86-64', 'x86_64')
    if text in KNOWN_SYSTEMS:
        return text
    words = [word for word in re.split(r'[^a-z0-9_]+', text) if word]
    cpus = [CPU_ALIASES.get(word, word) for word in words if CPU_ALIASES.get(word, word) in KNOWN_CPUS]
    oses = [OS_ALIASES.get(word, word) for word in words if OS_ALIASES.get(word, word) in KNOWN_OSES]
    # Also a triple such as x86_64-unknown-linux-gnu or aarch64-apple-darwin, or the OS first.
    if cpus and oses and '%s-%s' % (cpus[0], oses[0]) in KNOWN_SYSTEMS:
        return '%s-%s' % (cpus[0], oses[0])
    if cpus and not oses and cpus[0] + '-linux' in KNOWN_SYSTEMS:
        return cpus[0] + '-linux'
    close = difflib.get_close_matches(text, sorted(KNOWN_SYSTEMS), n=1, cutoff=0.6)
    return close[0] if close else None


def system_problem(value, allow_custom=False):
    """None when Nix knows `value` as a system (cpu-os, see KNOWN_SYSTEMS), else what is wrong with it
    and how to fix it. With allow_custom, any cpu-os shaped word passes."""
    suggestion = suggest_system(value)
    hint = '; did you mean %r?' % suggestion if suggestion and suggestion != value else ''
    if not isinstance(value, str) or not SYSTEM_RE.match(value):
        return '%r does not match %s (cpu-os, such as x86_64-linux)%s' % (value, SYSTEM_RE.pattern, hint)
    if value in KNOWN_SYSTEMS or allow_custom:
        return None
    return ('%r is not a system Nix knows%s Systems are cpu-os pairs from nixpkgs lib.systems.doubles, such '
            'as x86_64-linux, aarch64-linux or aarch64-darwin; set allow_custom_systems=true to use another one'
            % (value, hint or '.'))


def _systems(where, value, allow_custom):
    if value is None or value == []:
        raise NixMachinesError('%s: systems must list at least one system, such as x86_64-linux' % where)
    if not isinstance(value, list):
        raise NixMachinesError('%s: systems must be a list, got %r' % (where, value))
    for system in value:
        problem = system_problem(system, allow_custom)
        if problem:
            raise NixMachinesError('%s: systems item %s' % (where, problem))
    return _words(where, 'systems', value, SYSTEM_RE, required=True)


def encode_host_key(where, value):
    """`TYPE BASE64 [comment]` (a .pub file's line) -> base64 of `TYPE BASE64`, as Nix wants it."""
    parts = value.split() if isinstance(value, str) else []
    if len(parts) == 1:
        try:
            if base64.b64decode(parts[0], validate=True).split()[0].decode() in HOST_KEY_TYPES:
                raise NixMachinesError('%s: public_host_key is already base64-encoded; give the key as '
                                       'it is in the .pub file ("TYPE BASE64"), the module encodes it' % where)
        except (binascii.Error, IndexError, UnicodeDecodeError):
            pass
    if len(parts) < 2 or parts[0] not in HOST_KEY_TYPES:
        raise NixMachinesError('%s: public_host_key must be "TYPE BASE64" as in the host\'s '
                               '/etc/ssh/ssh_host_*_key.pub, with TYPE one of %s'
                               % (where, ', '.join(HOST_KEY_TYPES)))
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack('>I', blob[:4])
        blob_type = blob[4:4 + length].decode('ascii')
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise NixMachinesError('%s: public_host_key: the part after %s is not a valid base64 SSH key' % (where, parts[0]))
    if blob_type != parts[0]:
        raise NixMachinesError('%s: public_host_key says %s but the key data is %r' % (where, parts[0], blob_type))
    return base64.b64encode(('%s %s' % (parts[0], parts[1])).encode('ascii')).decode('ascii')


def check_builder(index, entry, allow_custom_systems=False):
    """Validate one builder dict; return it with defaults filled and values normalized.

    Its systems must be ones Nix knows (KNOWN_SYSTEMS) unless allow_custom_systems is set."""
    where = _label(index, entry)
    if not isinstance(entry, dict):
        raise NixMachinesError('%s: expected a dict with at least host and systems, got %r' % (where, entry))
    for key in entry:
        if key not in KNOWN_KEYS:
            raise NixMachinesError('%s: unknown key %r; known keys are %s' % (where, key, ', '.join(KNOWN_KEYS)))
    if entry.get('port') is not None:
        # Nix 2.26 hands "host:PORT" to ssh as the host name and ignores "?port=" (lab-verified).
        raise NixMachinesError('%s: port cannot be set in a machines file: Nix gives ssh "host:PORT" as the host '
                               'name and ignores "?port="; set it in root\'s ~/.ssh/config instead '
                               '("Host %s" then "Port %s")'
                               % (where, entry.get('host'), entry['port']))
    protocol = entry.get('protocol') or 'ssh-ng'
    if protocol not in PROTOCOLS:
        raise NixMachinesError('%s: protocol must be one of %s, got %r' % (where, ', '.join(PROTOCOLS), protocol))
    user = entry.get('user')
    if user is not None and (not isinstance(user, str) or not USER_RE.match(user)):
        raise NixMachinesError('%s: user %r is not a valid SSH user name' % (where, user))
    ssh_key = entry.get('ssh_key')
    if ssh_key is not None:
        if not isinstance(ssh_key, str) or not ssh_key.startswith('/') or re.search(r'[\s#,;]', ssh_key):
            raise NixMachinesError('%s: ssh_key must be an absolute path without spaces, "#", "," or ";", got %r'
                                   % (where, ssh_key))
        if ssh_key.endswith('.pub'):
            raise NixMachinesError('%s: ssh_key %s is a public key; give the private key file' % (where, ssh_key))
    host_key = entry.get('public_host_key')
    return dict(
        host=_host(where, entry.get('host')),
        protocol=protocol,
        user=user,
        systems=_systems(where, entry.get('systems'), allow_custom_systems),
        ssh_key=ssh_key,
        # A machine with max-jobs 0 is never chosen: builds wait for it forever.
        max_jobs=_int(where, 'max_jobs', entry.get('max_jobs'), 1, 1),
        # Nix 2.26 reads a float here, older releases only whole numbers.
        speed_factor=_int(where, 'speed_factor', entry.get('speed_factor'), 1, 1),
        supported_features=_words(where, 'supported_features', entry.get('supported_features'), FEATURE_RE),
        mandatory_features=_words(where, 'mandatory_features', entry.get('mandatory_features'), FEATURE_RE),
        public_host_key=encode_host_key(where, host_key) if host_key is not None else None,
    )


def uri(builder):
    return '%s://%s%s' % (builder['protocol'], builder['user'] + '@' if builder['user'] else '', builder['host'])


def render_line(builder):
    columns = [uri(builder)]
    for key in ('systems', 'ssh_key', 'max_jobs', 'speed_factor', 'supported_features',
                'mandatory_features', 'public_host_key'):
        value = builder[key]
        if isinstance(value, list):
            value = ','.join(value)
        columns.append(str(value) if value not in (None, '') else '-')
    return ' '.join(columns)


def checked_builders(builders, allow_custom_systems=False):
    """Validated builder dicts (defaults filled); the same machine twice is refused."""
    checked = [check_builder(index, entry, allow_custom_systems) for index, entry in enumerate(builders)]
    seen = {}
    for index, builder in enumerate(checked):
        if uri(builder) in seen:
            raise NixMachinesError('builders[%d] and builders[%d] are both %s; list each machine once'
                                   % (seen[uri(builder)], index, uri(builder)))
        seen[uri(builder)] = index
    return checked


def machines(builders, allow_custom_systems=False):
    """Validated machines lines for a list of builder dicts."""
    return [render_line(builder) for builder in checked_builders(builders, allow_custom_systems)]


def build_machines(builders, allow_custom_systems=False):
    """The same builders as NixOS nix.buildMachines entries (nixpkgs nix-remote-build.nix), which NixOS
    renders into the same machines lines (a mandatory feature is listed as supported there too)."""
    return [dict(hostName=b['host'], protocol=b['protocol'], sshUser=b['user'], sshKey=b['ssh_key'],
                 systems=b['systems'], maxJobs=b['max_jobs'], speedFactor=b['speed_factor'],
                 supportedFeatures=b['supported_features'], mandatoryFeatures=b['mandatory_features'],
                 publicHostKey=b['public_host_key'])
            for b in checked_builders(builders, allow_custom_systems)]


def render(lines):
    return ''.join(line + '\n' for line in [HEADER] + list(lines))


def parse(text):
    """Machines lines as Nix reads them: comments stripped, columns split, `-` read as empty."""
    rows = []
    for line in text.replace(';', '\n').split('\n'):
        tokens = line.split('#', 1)[0].split()
        if tokens:
            rows.append([None if token == '-' else token for token in tokens] + [None] * (8 - len(tokens)))
    return rows

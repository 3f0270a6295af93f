# -*- coding: utf-8 -*-
# Copyright (c) nixkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""parse_path_info() over `nix path-info --json` output captured from real Nix: 2.26.3 on a Debian
trixie lab host, and 2.8.0 (Debian bookworm's nix-bin) on the same closure copied into a local
store. The closure is a derivation (top) that references another (dep); top is signed by k-1."""

import pytest

from ansible_collections.nixkit.nix.plugins.module_utils._path_info import (
    PathInfoError, check_store_path, has_signature, invalid_paths, not_valid_paths, parse_path_info,
)

TOP = '/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top'
DEP = '/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep'
NOPE = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope'
SIG_TOP = 'k-1:ulr7PnznEgsV0kesvWH6Qud9XCj6CcsntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=='
SIG_DEP = 'k-1:KOeGt71XDu2bab7V2H66wdPPLqk9ARs2AZWrNRBOWkR81TjZ/p4UC6B6Q4fbZN70A98V81Ay0yzJsGkQFxgXAQ=='

# Nix 2.26.3: nix path-info --json --recursive TOP (local daemon store, TOP signed, DEP not).
NIX_2_26_RECURSIVE = (
    '{"/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top":{"ca":null,"deriver":"/nix/store/8z26p71wx0y1fcd7307'
    'y1xmxhd7jz6hj-nixkit-top.drv","narHash":"sha256-ErThtlcewjidapVXU1OaBxP15vxwBXHRku81mdLqyvA=","narSize":168,"re'
    'ferences":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"],"registrationTime":1795317010,"signatures'
    '":["k-1:ulr7PnznEgsV0kesvWH6Qud9XCj6CcsntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="],"ultimate":t'
    'rue},"/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep":{"ca":null,"deriver":"/nix/store/k8cvhidpbb8ra0j'
    '23xsadh2z5bs6kvv1-nixkit-dep.drv","narHash":"sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=","narSize":120'
    ',"references":[],"registrationTime":1795317010,"signatures":[],"ultimate":true}}\n'
)
# Nix 2.26.3: nix path-info --json NOPE TOP (exit code 0; NOPE is not in the store).
NIX_2_26_MISSING = (
    '{"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope":null,"/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-to'
    'p":{"ca":null,"deriver":"/nix/store/8z26p71wx0y1fcd7307y1xmxhd7jz6hj-nixkit-top.drv","narHash":"sha256-ErThtlc'
    'ewjidapVXU1OaBxP15vxwBXHRku81mdLqyvA=","narSize":168,"references":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2'
    'x-nixkit-dep"],"registrationTime":1795317010,"signatures":["k-1:ulr7PnznEgsV0kesvWH6Qud9XCj6CcsntSV4E2XisVcLcqK'
    '5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="],"ultimate":true}}\n'
)
# Nix 2.26.3: nix path-info --json --store file:///tmp/cache --recursive TOP (a binary cache, both signed).
NIX_2_26_FILE_CACHE = (
    '{"/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top":{"ca":null,"compression":"xz","deriver":"/nix/store/'
    '8z26p71wx0y1fcd7307y1xmxhd7jz6hj-nixkit-top.drv","downloadHash":"sha256-C4aM3Za5GF2sbsaR/M972MD+PgKz2LDF0guv6E'
    'kDQ7Q=","downloadSize":176,"narHash":"sha256-ErThtlcewjidapVXU1OaBxP15vxwBXHRku81mdLqyvA=","narSize":168,"refe'
    'rences":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"],"registrationTime":null,"signatures":["k-1:'
    'ulr7PnznEgsV0kesvWH6Qud9XCj6CcsntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="],"ultimate":false,"ur'
    'l":"nar/1d230d4yibqbsb2v1n5k08zgxh6qgg7zr4f6dsn5s65rjvfqr1hb.nar.xz"},"/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580'
    'g2x-nixkit-dep":{"ca":null,"compression":"xz","deriver":"/nix/store/k8cvhidpbb8ra0j23xsadh2z5bs6kvv1-nixkit-de'
    'p.drv","downloadHash":"sha256-EhGmgWt2+CssgLVQyfBsZLVNr/gzobzQ8N4/d7+aUvc=","downloadSize":128,"narHash":"sha25'
    '6-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=","narSize":120,"references":[],"registrationTime":null,"signatu'
    'res":["k-1:KOeGt71XDu2bab7V2H66wdPPLqk9ARs2AZWrNRBOWkR81TjZ/p4UC6B6Q4fbZN70A98V81Ay0yzJsGkQFxgXAQ=="],"ultimat'
    'e":false,"url":"nar/1xsjkazpfgyyy38br89kz2plvdb4dkqcjl5mh0n2py3ndf0sc48j.nar.xz"}}\n'
)
# Nix 2.26.3: nix path-info --json --recursive NOPE exits 1 with this on stderr (warnings trimmed).
NIX_2_26_RECURSIVE_MISSING_STDERR = (
    "don't know how to build these paths:\n  /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope\n"
    "error: path '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope' is not valid\n"
)

# Nix 2.8.0 (no newline at the end): nix path-info --json --recursive TOP (a list; DEP has no signatures key).
NIX_2_8_RECURSIVE = (
    '[{"path":"/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top","narHash":"sha256-ErThtlcewjidapVXU1OaBxP15v'
    'xwBXHRku81mdLqyvA=","narSize":168,"references":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"],"de'
    'river":"/nix/store/8z26p71wx0y1fcd7307y1xmxhd7jz6hj-nixkit-top.drv","registrationTime":1795317062,"signatures"'
    ':["k-1:ulr7PnznEgsV0kesvWH6Qud9XCj6CcsntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="]},{"path":"/n'
    'ix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep","narHash":"sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi7'
    '71cgI=","narSize":120,"references":[],"deriver":"/nix/store/k8cvhidpbb8ra0j23xsadh2z5bs6kvv1-nixkit-dep.drv","'
    'registrationTime":1795317062}]'
)
# Nix 2.8.0: nix path-info --json NOPE TOP (exit code 0).
NIX_2_8_MISSING = (
    '[{"path":"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nope","valid":false},{"path":"/nix/store/vzkynixrhdn3gpcn'
    'z21kcfpm72d4pcfp-nixkit-top","narHash":"sha256-ErThtlcewjidapVXU1OaBxP15vxwBXHRku81mdLqyvA=","narSize":168,"re'
    'ferences":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"],"deriver":"/nix/store/8z26p71wx0y1fcd7307'
    'y1xmxhd7jz6hj-nixkit-top.drv","registrationTime":1795317062,"signatures":["k-1:ulr7PnznEgsV0kesvWH6Qud9XCj6Ccs'
    'ntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="]}]'
)
# Nix 2.8.0: nix path-info --json --store file://... TOP (a binary cache).
NIX_2_8_FILE_CACHE = (
    '[{"path":"/nix/store/vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top","narHash":"sha256-ErThtlcewjidapVXU1OaBxP15v'
    'xwBXHRku81mdLqyvA=","narSize":168,"references":["/nix/store/xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"],"de'
    'river":"/nix/store/8z26p71wx0y1fcd7307y1xmxhd7jz6hj-nixkit-top.drv","signatures":["k-1:ulr7PnznEgsV0kesvWH6Qu'
    'd9XCj6CcsntSV4E2XisVcLcqK5LMH5IX/x1460Pfms/uJubJY/8KptkCdaPZCvDQ=="],"url":"nar/1d230d4yibqbsb2v1n5k08zgxh6qgg'
    '7zr4f6dsn5s65rjvfqr1hb.nar.xz","downloadHash":"sha256-C4aM3Za5GF2sbsaR/M972MD+PgKz2LDF0guv6EkDQ7Q=","download'
    'Size":176}]'
)

TOP_SIGNED = dict(valid=True, signatures=[SIG_TOP], narSize=168, references=[DEP])
DEP_UNSIGNED = dict(valid=True, signatures=[], narSize=120, references=[])
MISSING = dict(valid=False, signatures=[], narSize=None, references=[])


@pytest.mark.parametrize('text', [NIX_2_26_RECURSIVE, NIX_2_8_RECURSIVE], ids=['2.26', '2.8'])
def test_closure_in_either_shape(text):
    assert parse_path_info(text) == {TOP: TOP_SIGNED, DEP: DEP_UNSIGNED}


@pytest.mark.parametrize('text', [NIX_2_26_MISSING, NIX_2_8_MISSING], ids=['2.26', '2.8'])
def test_path_not_in_the_store(text):
    info = parse_path_info(text)
    assert info == {NOPE: MISSING, TOP: TOP_SIGNED}
    assert invalid_paths(info) == [NOPE]


@pytest.mark.parametrize('text', [NIX_2_26_FILE_CACHE, NIX_2_8_FILE_CACHE], ids=['2.26', '2.8'])
def test_binary_cache(text):
    info = parse_path_info(text)
    assert info[TOP] == TOP_SIGNED and invalid_paths(info) == []
    if DEP in info:
        assert info[DEP]['signatures'] == [SIG_DEP]


def test_has_signature_compares_the_whole_name():
    info = parse_path_info(NIX_2_26_RECURSIVE)
    assert has_signature(info[TOP], 'k-1')
    assert not has_signature(info[TOP], 'k')
    assert not has_signature(info[TOP], 'k-10')
    assert not has_signature(info[DEP], 'k-1')


def test_base_names_become_store_paths():
    # Should a Nix version print base names, they are completed with the store directory.
    info = parse_path_info('{"vzkynixrhdn3gpcnz21kcfpm72d4pcfp-nixkit-top":{"narSize":1,'
                           '"references":["xv3gwkd67pcq8r7x5dwpcqpxfl580g2x-nixkit-dep"]}}')
    assert info == {TOP: dict(valid=True, signatures=[], narSize=1, references=[DEP])}


def test_warnings_before_the_json_are_ignored():
    assert parse_path_info('some notice\n' + NIX_2_26_RECURSIVE)[DEP] == DEP_UNSIGNED


@pytest.mark.parametrize('text, says', [
    ('', 'printed no JSON'),
    ('error: oops', 'printed no JSON'),
    ('"a string"', 'neither an object nor a list'),
    ('[1, 2]', 'neither an object nor a list'),
    ('[{"narSize": 1}]', 'without a store path'),
    ('{"/nix/store/x": 3}', 'printed 3 for /nix/store/x'),
])
def test_not_path_info(text, says):
    with pytest.raises(PathInfoError, match=says):
        parse_path_info(text)


def test_not_valid_paths():
    assert not_valid_paths(NIX_2_26_RECURSIVE_MISSING_STDERR) == [NOPE]
    assert not_valid_paths("error: path '%s' is not valid\nerror: path '%s' is not valid\n" % (NOPE, NOPE)) == [NOPE]
    assert not_valid_paths("error: getting status of '/nix/store/foo': No such file or directory") == []
    assert not_valid_paths(None) == []


@pytest.mark.parametrize('path', [TOP, DEP, '/nix/store/%s-a.b_c+d=e?' % ('0' * 32)])
def test_store_paths(path):
    check_store_path(path)


@pytest.mark.parametrize('path', [
    '/nix/store/foo', TOP + '/bin/sh', TOP + '/', '/nix/store/%s-' % ('a' * 32), '/nix/store/%s-x' % ('A' * 32),
    '/nix/store/%s-x' % ('a' * 31), 'nix/store/%s-x' % ('a' * 32), '/tmp/result', './result', '', None,
])
def test_not_store_paths(path):
    with pytest.raises(PathInfoError, match='is not a store path'):
        check_store_path(path)
    try:
        check_store_path(path)
    except PathInfoError as exc:
        assert repr(path) in str(exc)


# Nix 2.34.8 (lab variant nixsid): nix path-info --json X. Same shape as 2.19-2.26 (its default
# --json-format 1), with "storeDir" and a per-entry "version"; stderr warns that --json without
# --json-format is deprecated, which the parser never reads.
NIX_2_34_ONE = (
    '{"/nix/store/zr2knphxg8yyy2mkq8akf2hfknjvdiz7-x":{"ca":null,"deriver":"/nix/store/mh3rz2qzm0lrcxk22g2b1kifak7'
    'q2nj9-x.drv","narHash":"sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY=","narSize":120,"references":[],"re'
    'gistrationTime":1796059542,"signatures":[],"storeDir":"/nix/store","ultimate":true,"version":1}}\n'
)


def test_nix_2_34_entries_carry_version_and_store_dir():
    x = '/nix/store/zr2knphxg8yyy2mkq8akf2hfknjvdiz7-x'
    assert parse_path_info(NIX_2_34_ONE) == {x: dict(valid=True, signatures=[], narSize=120, references=[])}
    # A path the store lacks is still null there (exit code 0).
    assert invalid_paths(parse_path_info('{"%s":null}' % NOPE)) == [NOPE]

# Sphinx configuration of the nixkit.nix docs site (started from `antsibull-docs sphinx-init`).
# Built by `scripts/test.sh docs`: it assembles the source directory (rst/ of this directory, the
# guides from docs/guides, the plugin and role reference from antsibull-docs, the release notes from
# antsibull-changelog) and runs sphinx-build with -W, so any warning fails the build.
# Nothing is fetched while building: no intersphinx inventories.

project = 'nixkit.nix'
copyright = 'nixkit maintainers'
title = 'nixkit.nix'
html_short_title = 'nixkit.nix'

extensions = ['sphinx_antsibull_ext', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}

# Guides are Markdown (docs/guides/*.md, also read on the forge); headings get anchors for links.
myst_heading_anchors = 3

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'

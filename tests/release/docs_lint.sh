#!/usr/bin/env bash
# antsibull-docs lint-collection-docs: the docs of every module, plugin and role (schema,
# markup, references such as O(option) and M(module)) as the Ansible docsite would build them,
# checked with rstcheck, plus links from extra docs (docs/docsite/) if there are any.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
cd "$root"
# tool.sh links the checkout at build/release/collections/ansible_collections/winiscsi/ipsec; the
# linter needs it there to run ansible-doc on the collection. Findings name files by that path,
# so sed shows them relative to the checkout.
linked=build/release/collections/ansible_collections/$(galaxy_value namespace)/$(galaxy_value name)
"$release_dir/tool.sh" antsibull-docs lint-collection-docs --plugin-docs \
    --validate-collection-refs all --check-extra-docs-refs "$root/$linked" 2>&1 |
    sed -e "s#^$root/$linked/##" -e "s#^$linked/##"
echo "docs: antsibull-docs lint-collection-docs passed"

#!/usr/bin/env bash
# ansible-lint with the production profile (.ansible-lint) over the roles, playbooks, meta, the
# integration target and the sanity ignore files, with the collection resolvable as
# winiscsi.ipsec so that its own modules, filters and action group are checked by name.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
cd "$root"
"$release_dir/tool.sh" ansible-lint --nocolor "$@"
echo "ansible-lint: production profile passed"

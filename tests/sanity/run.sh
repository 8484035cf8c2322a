#!/usr/bin/env bash
# Runs `ansible-test sanity` over a copy of this checkout laid out as
# ansible_collections/winiscsi/ipsec, each test in its own virtualenv (--venv).
#
# Skipped, because they need PowerShell (pwsh), which cannot be installed on the Debian build
# machines; the PowerShell is covered by tests/unit/plugins/modules/test_mmipsec_facts_static.py:
#   pslint - PSScriptAnalyzer runs under pwsh.
# validate-modules still runs; its PowerShell argument-spec step is skipped per file in
# tests/sanity/ignore-*.txt with the same reason.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.venv}
# One copy per virtualenv, so that two ansible-core releases can run side by side (make test).
dest=$root/build/sanity/$(basename "$venv")/ansible_collections/winiscsi/ipsec

rm -rf "$dest"
mkdir -p "$dest"
cd "$root"
# Tracked files plus new ones not ignored: what a commit of the working tree would hold.
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$dest"
cd "$dest"
git init -q .
git add -A

# ansible-test downloads get-pip.py to seed each venv; this machine reaches only package
# registries, so put the offline stand-in where ansible-test looks for its cached copy.
pip_version=$(grep -ho "pip='[0-9.]*'" "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n 1 | tr -dc '0-9.')
mkdir -p ~/.ansible/test/cache
cp "$root/tests/sanity/get_pip_offline.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

"$venv/bin/ansible-test" sanity --venv --python 3.11 --color no \
    --skip-test pslint "$@"

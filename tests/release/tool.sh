#!/usr/bin/env bash
# Runs one pinned release tool from build/venvs/lint, creating that virtualenv on first use:
#   tests/release/tool.sh ruff check plugins
#   tests/release/tool.sh mypy
# The pre-commit hooks call the tools through this script, so a commit checks with the same
# versions as `make test`. It also links the checkout as ansible_collections/winiscsi/ipsec under
# build/release/collections, where mypy (.mypy.ini) and ansible-lint look for the collection.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
tool=${1:?usage: tool.sh TOOL [ARGS...]}
shift
venv=$(release_venv lint "$release_dir/requirements-lint.txt")
export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH=$(link_collection "$work/collections")
# Tools that start other tools (ansible-lint runs ansible-playbook) find them beside themselves.
export PATH=$venv/bin:$PATH
exec "$venv/bin/$tool" "$@"

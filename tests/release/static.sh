#!/usr/bin/env bash
# Static checks of the source tree: ruff (ruff.toml), mypy --strict on plugins/plugin_utils
# (.mypy.ini), yamllint (.yamllint) and shellcheck, run as the pre-commit hooks of
# .pre-commit-config.yaml so that the hooks and `make test` cannot drift apart. ansible-lint is a hook too, but runs in
# tests/release/ansible_lint.sh.
#
# The files are those a commit of the working tree would hold (tracked, plus new ones git does
# not ignore), as in tests/sanity/run.sh: a check of only tracked files would pass a new file
# that is not yet added.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
cd "$root"
"$release_dir/tool.sh" pre-commit validate-config .pre-commit-config.yaml
files=()
while IFS= read -r -d '' file; do
    # Deleted but not yet committed files are still listed by git; pre-commit needs real files.
    [[ -f $file ]] && files+=("$file")
done < <(git ls-files -z --cached --others --exclude-standard)
SKIP=ansible-lint "$release_dir/tool.sh" pre-commit run --color never \
    --files "${files[@]}"
echo "static: ruff, mypy --strict, yamllint and shellcheck passed"

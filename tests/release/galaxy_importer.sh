#!/usr/bin/env bash
# Galaxy's import checks: galaxy-importer (the code Galaxy and Automation Hub run on upload) over
# a freshly built tarball, with tests/release/galaxy-importer.cfg (no containers, so no
# ansible-test; make test runs ansible-test sanity itself). The importer turns most findings
# (ansible-lint, ansible-doc, the changelog and tag checks) into log lines rather than a failed
# import, so any WARNING or ERROR line fails this check as well.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
venv=$(release_venv importer "$release_dir/requirements-importer.txt")
tarball=$(build_tarball "$venv" "$work/importer")
# The importer runs ansible-doc and ansible-lint by name; use this venv's.
export PATH=$venv/bin:$PATH
export GALAXY_IMPORTER_CONFIG=$release_dir/galaxy-importer.cfg
cd "$work/importer"
log=$work/importer/importer.log
status=0
"$venv/bin/python" -m galaxy_importer.main "$tarball" >"$log" 2>&1 || status=$?
cat "$log"
if ((status != 0)); then
    echo "galaxy-importer: import of ${tarball#"$root"/} failed (exit $status)" >&2
    exit 1
fi
if grep -E '^(WARNING|ERROR)' "$log" >/dev/null; then
    echo "galaxy-importer: the import of ${tarball#"$root"/} logged warnings or errors (above)" >&2
    exit 1
fi
echo "galaxy-importer: ${tarball#"$root"/} imports cleanly"

#!/usr/bin/env bash
# Execution environment checks, without a container runtime:
# - bindep reads bindep.txt;
# - ansible-builder introspects the collection and finds its requirements.txt and bindep.txt
#   through meta/execution-environment.yml (what it does inside a real image build);
# - ansible-builder create turns tests/release/execution-environment.yml into a build context
#   (Containerfile and _build/) in build/release/ee-context.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
tool=$release_dir/tool.sh
cd "$root"

"$tool" bindep --file bindep.txt --list_all newline >/dev/null

# tool.sh links the checkout under build/release/collections; introspect scans that path.
introspected=$("$tool" ansible-builder introspect --sanitize "$work/collections")
echo "$introspected"
# The pywinrm requirement exactly as requirements.txt states it (with its bounds).
want="$(grep -m1 '^pywinrm' "$root/requirements.txt")  # from collection winiscsi.ipsec"
if ! grep -qF -- "- '$want'" <<<"$introspected"; then
    echo "ee: ansible-builder introspect did not report '$want' from meta/execution-environment.yml" >&2
    exit 1
fi

context=$work/ee-context
rm -rf "$context"
"$tool" ansible-builder create --file "$release_dir/execution-environment.yml" \
    --context "$context" --output-filename Containerfile
for file in Containerfile _build/requirements.yml _build/scripts/assemble; do
    [[ -s $context/$file ]] || { echo "ee: build context lacks $file" >&2; exit 1; }
done
grep -q 'name: winiscsi.ipsec' "$context/_build/requirements.yml" ||
    { echo "ee: the build context's requirements.yml does not install winiscsi.ipsec" >&2; exit 1; }
echo "ee: bindep.txt, meta/execution-environment.yml and the build context in ${context#"$root"/} are good"

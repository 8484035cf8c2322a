#!/usr/bin/env bash
# Changelog checks:
# - `antsibull-changelog lint` over the fragments and lint-changelog-yaml over changelog.yaml;
# - with fragments pending: a trial release in a copy of the tree (a real release rewrites
#   changelogs/changelog.yaml and deletes the fragments). The release must consume every
#   fragment and give a CHANGELOG.rst that rstcheck accepts and a CHANGELOG.md. It releases the
#   version in galaxy.yml, or the next patch version if that one is released already;
# - with none pending (just after a release): the committed CHANGELOG.rst must be what
#   changelog.yaml generates.
# The generated files are left in build/release/changelog/ to read.
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
tool=$release_dir/tool.sh
cd "$root"
"$tool" antsibull-changelog lint
"$tool" antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# ansible-doc (which antsibull-changelog runs to list new plugins) finds a collection only under
# ansible_collections/NAMESPACE/NAME.
copy=$work/changelog/ansible_collections/$(galaxy_value namespace)/$(galaxy_value name)
rm -rf "$work/changelog"
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy" 2>/dev/null || true
cd "$copy"
fragments=$(find changelogs/fragments -name '*.yml' -printf '%f\n' | sed 's/\.yml$//' | sort)

# released_fragments VERSION: the fragment names that changelog.yaml records for VERSION.
released_fragments() {
    "$tool" python -c '
import sys, yaml
releases = yaml.safe_load(open("changelogs/changelog.yaml"))["releases"] or {}
names = releases.get(sys.argv[1], {}).get("fragments", [])
print("\n".join(sorted(name.removesuffix(".yml") for name in names)))
' "$1"
}

if [[ -z $fragments ]]; then
    [[ -f CHANGELOG.rst ]] || { echo "changelog: no fragments and no CHANGELOG.rst" >&2; exit 1; }
    "$tool" antsibull-changelog generate --output-format rst --output CHANGELOG.generated.rst
    if ! diff -u CHANGELOG.rst CHANGELOG.generated.rst; then
        echo "changelog: CHANGELOG.rst is not what changelogs/changelog.yaml generates;" \
            "run: tests/release/tool.sh antsibull-changelog generate" >&2
        exit 1
    fi
    echo "changelog: lint passed; no fragments pending and CHANGELOG.rst is current"
    exit 0
fi

version=$(galaxy_value version)
if [[ -n $(released_fragments "$version") ]]; then
    IFS=. read -r major minor patch <<<"${version%%[-+]*}"
    version=$major.$minor.$((patch + 1))
fi
"$tool" antsibull-changelog release --version "$version"
"$tool" antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
"$tool" antsibull-changelog generate --output-format md --output CHANGELOG.md
"$tool" rstcheck --report-level warning CHANGELOG.rst

# The release must list exactly the fragments it consumed, and none may be left behind.
released=$(released_fragments "$version")
if [[ $released != "$fragments" ]]; then
    echo "changelog: release $version lists fragments:" >&2
    echo "$released" >&2
    echo "but changelogs/fragments holds:" >&2
    echo "$fragments" >&2
    exit 1
fi
if compgen -G 'changelogs/fragments/*.yml' >/dev/null; then
    echo "changelog: fragments left after the release: $(ls changelogs/fragments)" >&2
    exit 1
fi
# A section for this version, as RST title and as the Markdown anchor (Markdown escapes dots).
grep -qx "v$version" CHANGELOG.rst || { echo "changelog: CHANGELOG.rst has no v$version section" >&2; exit 1; }
grep -q "id=\"v${version//./-}\"" CHANGELOG.md || { echo "changelog: CHANGELOG.md has no v$version section" >&2; exit 1; }
echo "changelog: lint passed; trial release $version made from $(wc -l <<<"$fragments") fragments" \
    "into ${copy#"$root"/}/CHANGELOG.rst and CHANGELOG.md"

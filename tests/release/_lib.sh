# shellcheck shell=bash
# Shared by the tests/release/*.sh checks (sourced, not run).
#
# Each release tool pins dependencies that clash with the test virtualenv (.venv) or with each
# other, so each set lives in its own virtualenv under build/venvs/, built from a locked
# requirements file and rebuilt only when that file changes.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034  # used by the scripts that source this file
release_dir=$root/tests/release
# shellcheck disable=SC2034  # as above
work=$root/build/release
PYTHON=${PYTHON:-python3.11}
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# release_venv NAME REQUIREMENTS_FILE...
# Creates (or reuses) build/venvs/NAME with exactly the given requirement files installed and
# prints its path. The stamp holds a hash of the files, so an edited pin rebuilds the venv.
release_venv() {
    local name=$1
    shift
    local dir=$root/build/venvs/$name
    local stamp
    stamp=$(cat "$@" | sha256sum | cut -c1-32)
    if [[ ! -f $dir/.stamp || $(<"$dir/.stamp") != "$stamp" ]]; then
        echo "release: creating $dir from ${*#"$root"/}" >&2
        rm -rf "$dir"
        "$PYTHON" -m venv "$dir"
        local args=()
        local file
        for file in "$@"; do
            args+=(-r "$file")
        done
        # pip's progress and its notes about absent local mirrors go to the log, not the console.
        if ! "$dir/bin/pip" install --quiet "${args[@]}" >"$dir.log" 2>&1; then
            cat "$dir.log" >&2
            echo "release: pip install into $dir failed" >&2
            return 1
        fi
        echo "$stamp" >"$dir/.stamp"
    fi
    echo "$dir"
}

# link_collection DIR: makes DIR/ansible_collections/winiscsi/ipsec point at this checkout, the
# layout Ansible needs to find the collection by name, and prints DIR.
link_collection() {
    local dir=$1
    mkdir -p "$dir/ansible_collections/winiscsi"
    ln -sfn "$root" "$dir/ansible_collections/winiscsi/ipsec"
    echo "$dir"
}

# galaxy_value KEY: a top-level scalar from galaxy.yml (namespace, name, version).
galaxy_value() {
    sed -n "s/^$1: *//p" "$root/galaxy.yml"
}

# build_tarball VENV DEST: builds the collection tarball with VENV's ansible-galaxy into DEST
# (emptied first) and prints the tarball's path.
build_tarball() {
    local venv=$1 dest=$2
    rm -rf "$dest"
    mkdir -p "$dest"
    (cd "$root" && "$venv/bin/ansible-galaxy" collection build --force --output-path "$dest" . >&2)
    echo "$dest/$(galaxy_value namespace)-$(galaxy_value name)-$(galaxy_value version).tar.gz"
}

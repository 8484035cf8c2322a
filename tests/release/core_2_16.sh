#!/usr/bin/env bash
# The oldest supported ansible-core (2.16) next to the pinned newest one (.venv, 2.19):
# ansible-test sanity with 2.16's own tests and ignore file (tests/sanity/ignore-2.16.txt), then
# the unit and playbook tests against the tarball built and installed with 2.16's ansible-galaxy.
# Usage: core_2_16.sh [sanity|unit|playbooks]... (default: all three)
set -euo pipefail
# shellcheck source=tests/release/_lib.sh
source "$(dirname "$0")/_lib.sh"
steps=("$@")
((${#steps[@]})) || steps=(sanity unit playbooks)

# tests/requirements-dev.txt without its ansible-core pin, so the test tools stay the same.
mkdir -p "$work"
dev=$work/requirements-dev-without-core.txt
grep -v '^ansible-core==' "$root/tests/requirements-dev.txt" >"$dev"
venv=$(release_venv core-2.16 "$release_dir/requirements-core-2.16.txt" "$dev")
# sed reads to the end: with head, ansible 2.16 dies of the broken pipe (and pipefail fails us).
"$venv/bin/ansible" --version | sed -n 1p

for step in "${steps[@]}"; do
    case $step in
    sanity)
        # pylint runs once, with 2.19's rules (make sanity): here it would add about a minute
        # and find no more, since the import sanity test and the unit and playbook tests below
        # import every plugin with 2.16.
        VENV=$venv "$root/tests/sanity/run.sh" --skip-test pylint
        ;;
    unit | playbooks)
        collections=$work/core-2.16/collections
        if [[ -z ${installed:-} ]]; then
            # Built and installed afresh once per run, for both steps.
            tarball=$(build_tarball "$venv" "$work/core-2.16/dist")
            rm -rf "$collections"
            "$venv/bin/ansible-galaxy" collection install --force -p "$collections" "$tarball"
            installed=yes
        fi
        # On 2.19 only: the docs examples and the demo (they drive the same roles, filters
        # and action plugin that the other playbook tests run here, and they are the slowest,
        # about 100 s), the hostile servers (HTTP below the action plugin, the same code on any
        # ansible-core), the report in a browser (a page rendered by Python) and ansible-runner
        # (as AWX runs it, with the execution environment's ansible-core).
        # The playbook tests on pytest-xdist workers, as make playbooks runs them (see
        # tests/playbooks/conftest.py); PLAYBOOK_WORKERS=0 runs them one by one.
        args=()
        [[ $step == playbooks ]] && args=(--ignore=tests/playbooks/test_docs_examples.py
                                          --ignore=tests/playbooks/test_demo.py
                                          --ignore=tests/playbooks/test_hostile_wsman.py
                                          --ignore=tests/playbooks/test_report_browser.py
                                          --ignore=tests/playbooks/test_ansible_runner.py
                                          -n "${PLAYBOOK_WORKERS:-2}" --dist loadscope)
        (
            cd "$root"
            export ANSIBLE_COLLECTIONS_PATH=$collections WINISCSI_COLLECTIONS=$collections
            # Its own temporary root: make test runs this beside the 2.19 pytest run.
            export PYTEST_DEBUG_TEMPROOT=$work/core-2.16/tmp
            mkdir -p "$PYTEST_DEBUG_TEMPROOT"
            "$venv/bin/python" -m pytest -q -p no:cacheprovider "${args[@]}" "tests/$step"
        )
        ;;
    *)
        echo "core_2_16.sh: unknown step '$step' (expected sanity, unit or playbooks)" >&2
        exit 2
        ;;
    esac
done

# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the action plugin plugins/action/mmipsec_fleet_facts.py does all the work
# on the controller (like ansible.builtin.set_fact, there is no module to run on a host).

# The module boilerplate that ansible-test sanity of ansible-core 2.16 requires (2.19 accepts it).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mmipsec_fleet_facts
short_description: Read and judge the main-mode IPsec statistics of many hosts at once
version_added: 0.2.0
description:
  - Reads C(MSiSCSI_MMIPSECStats) of every host in O(hosts) concurrently from the controller
    over WS-Management, in one task, each host with its own connection settings (the
    variables M(winiscsi.ipsec.mmipsec_facts) uses with O(winiscsi.ipsec.mmipsec_facts#module:via=wsman) -
    Basic, NTLM with message encryption, HTTPS and Kerberos all work), and judges each host
    with the verdict of P(winiscsi.ipsec.mmipsec_verdict#filter).
  - Run it once (C(run_once=true)) for a batch of hosts; it is the read of the
    C(winiscsi.ipsec.health_check) role's C(fleet) strategy, which then sets each host's facts.
  - Returns data, not facts - a task's facts would go to the host that ran it (or to all hosts,
    with C(run_once)). Set them per host with a looped M(ansible.builtin.set_fact) and
    C(delegate_facts), as the role does.
  - A host that cannot be read (connection refused, nothing listening, a timeout, an HTTP or
    WS-Management fault, a failed kinit) is not dropped and does not fail the task - it gets an
    V(unknown) verdict that fails every gate, and its summary says why.
  - Connection settings come from each host's variables as C(hostvars) shows them (inventory,
    facts, extra vars), the task's keywords (C(remote_user), C(port)) and C(--ask-pass); play
    and role variables of the host that runs the task are not applied to the other hosts.
options:
  hosts:
    description: The inventory names of the hosts to read, usually C(ansible_play_batch).
    type: list
    elements: str
    required: true
  workers:
    description:
      - How many hosts are read at the same time (a thread pool on the controller), 1 to 256.
      - Each host's own timeouts (C(ansible_winrm_read_timeout_sec),
        C(ansible_winrm_connection_timeout)) bound how long its read holds a worker.
      - Kerberos hosts are read one at a time (a managed kinit points the process-wide
        C(KRB5CCNAME) at its own credential cache), the others concurrently.
    type: int
    default: 32
  phase:
    description:
      - V(read) judges each snapshot over its lifetime values (or over the window from
        O(window_start)).
      - V(pre) is the same, for the role's pre-check.
      - V(post) judges each host against its pre-check baseline, found as the role's post-check
        finds it (O(baseline_dir) first, then C(ansible_facts.health_check_baseline)) and
        vetted the same way. A missing or unusable baseline makes the host's verdict
        V(unknown), its summary saying why (or, with O(require_baseline=false), a warning and
        a lifetime verdict).
    type: str
    choices: [read, pre, post]
    default: read
  window_start:
    description:
      - The RV(hosts) of an earlier run of this action (the first sample of a window). Each
        host's RV(hosts.window) is then the delta between that sample and this one, and with
        O(phase=read) or O(phase=pre) the verdict judges that window.
      - A host whose first sample could not be read gets an V(unknown) verdict.
    type: dict
  baseline_dir:
    description: The directory of the pre-check's baseline files (C(health_check_baseline_dir)),
      or V("") for none. Used with O(phase=post).
    type: str
    default: ""
  require_baseline:
    description: With O(phase=post), whether a host without a baseline is V(unknown) (V(true)) or
      judged over its lifetime values with a warning (V(false)).
    type: bool
    default: true
  thresholds:
    description: Per-check threshold overrides, as
      O(winiscsi.ipsec.mmipsec_verdict#filter:thresholds).
    type: dict
    default: {}
  fail_on:
    description: The lowest status that fails the gate.
    type: str
    choices: [warning, critical]
    default: critical
  allow_unknown:
    description: Whether an V(unknown) check passes the gate (a host without the class). Never
      for a host that could not be read or judged.
    type: bool
    default: false
  via:
    description:
      - Must be V(wsman); the option exists so that C(module_defaults) for the group
        C(group/winiscsi.ipsec.mmipsec) apply to this action as to
        M(winiscsi.ipsec.mmipsec_facts).
      - V(module) (the default of the group) fails the task with a message saying how to set
        V(wsman) - this action cannot run the PowerShell module on the hosts, and falling back
        to one task per host would silently cost what it exists to avoid.
    type: str
    choices: [module, wsman]
    default: module
  instance_name:
    description: As O(winiscsi.ipsec.mmipsec_facts#module:instance_name), for every host.
    type: str
    default: '*'
  include_inactive:
    description: As O(winiscsi.ipsec.mmipsec_facts#module:include_inactive), for every host.
    type: bool
    default: false
attributes:
  check_mode:
    description: Reads and judges in check mode too; it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
  platform:
    description: Runs on the controller; reads Windows hosts.
    platforms: windows
    support: full
  action_group:
    description: Member of the action group C(winiscsi.ipsec.mmipsec).
    support: full
    membership:
      - winiscsi.ipsec.mmipsec
notes:
  - Needs pywinrm on the controller (and pykerberos for Kerberos), as
    O(winiscsi.ipsec.mmipsec_facts#module:via=wsman) does.
  - Passwords and authentication tokens a host echoes are replaced by C(********) in the
    result, as M(winiscsi.ipsec.mmipsec_facts) does.
seealso:
  - module: winiscsi.ipsec.mmipsec_facts
  - plugin: winiscsi.ipsec.mmipsec_verdict
    plugin_type: filter
  - plugin: winiscsi.ipsec.mmipsec_summary
    plugin_type: filter
author:
  - winiscsi.ipsec contributors (@winiscsi)
"""

EXAMPLES = r"""
- name: Read and judge every host of the batch from the controller, once
  winiscsi.ipsec.mmipsec_fleet_facts:
    hosts: "{{ ansible_play_batch }}"
    via: wsman
  register: sweep
  run_once: true

- name: Summarise the sweep
  ansible.builtin.debug:
    msg: "{{ sweep.hosts | dict2items | map(attribute='value.verdict.summary') | list }}"
  run_once: true
"""

RETURN = r"""
hosts:
  description: Each host of O(hosts), in that order, read or not.
  returned: always
  type: dict
  contains:
    verdict:
      description: The host's verdict (the shape of P(winiscsi.ipsec.mmipsec_verdict#filter)).
        V(unknown) with C(passed=false) for a host that could not be read or judged.
      type: dict
      returned: always
    mmipsec:
      description: The host's snapshot (the shape of C(ansible_facts.mmipsec) of
        M(winiscsi.ipsec.mmipsec_facts)), or V(null) when it could not be read.
      type: dict
      returned: always
    window:
      description: The delta of the sample window (O(window_start)), or V(null).
      type: dict
      returned: always
    msg:
      description: Why the host was not read or judged, or V(null).
      type: str
      returned: always
      sample: "not read: wsman: cannot connect to 127.0.0.1:5986 (user 'ops'): connection refused ..."
    unreachable:
      description: Whether the host did not answer (refused, timed out).
      type: bool
      returned: always
      sample: false
    baseline_used:
      description: The stored baseline the host was judged against, or V(null).
      type: dict
      returned: when O(phase=post)
    baseline:
      description: The baseline a pre-check keeps for the host (C(format), C(host),
        C(recorded_at), C(snapshot), C(window), C(verdict)), the shape the role stores as
        C(health_check_baseline).
      type: dict
      returned: when O(phase=pre) and the host was read
failed_hosts:
  description: The hosts whose verdict fails the gate, in order.
  returned: always
  type: list
  elements: str
  sample: [file01, web04]
unread_hosts:
  description: The hosts that could not be read, in order.
  returned: always
  type: list
  elements: str
  sample: [web04]
"""

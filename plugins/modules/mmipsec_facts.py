# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the module itself is mmipsec_facts.ps1 beside this file, and the action
# plugin plugins/action/mmipsec_facts.py runs it (or, with via=wsman, queries from the controller).

# The module boilerplate that ansible-test sanity of ansible-core 2.16 requires (2.19 accepts it).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mmipsec_facts
short_description: Read the main-mode IPsec statistics of the Windows iSCSI initiator
version_added: 0.1.0
description:
  - Reads the WMI class C(MSiSCSI_MMIPSECStats) in the C(root\WMI) namespace, the main-mode IKE
    statistics that an iSCSI adapter driver reports, and returns them as the fact
    C(ansible_facts.mmipsec).
  - One entry per adapter instance, with the 21 counters as exact integers, plus their totals
    over the active instances.
  - When the host has no such data (the class is not registered, no instance exists or matches,
    or the provider fails), the task still succeeds and the fact says so with
    RV(ansible_facts.mmipsec.available=false) and a RV(ansible_facts.mmipsec.reason). Access
    denied and other query failures fail the task.
  - Both values of O(via) classify the host's WMI errors with one table of HRESULTs (see the
    collection's docs/facts-reference.md), so the same host gives the same outcome either way.
    A code outside the table fails the task and names it.
  - The counters count since the IPsec service last started; a service restart or a reboot
    resets them. RV(ansible_facts.mmipsec.boot_time) helps to detect the reboot case.
  - The same read returns the quick-mode sibling class C(MSiSCSI_QMIPSECStats) as
    C(ansible_facts.qmipsec), in the same shape; a host without that class is normal
    (C(ansible_facts.qmipsec.available=false)).
options:
  instance_name:
    description:
      - Only report the instances whose C(InstanceName) matches this PowerShell C(-like)
        wildcard pattern, compared case-insensitively.
      - The special characters are C(*), C(?), C([) and C(]); escape a literal bracket with a
        backtick. A backslash, C(&), C(_) and C(.) are literal, so
        V(ROOT\\ISCSIPRT\\*) works as written.
      - An invalid pattern, such as an unbalanced V([), fails the task before anything is read.
      - When instances exist but none is left after this filter and O(include_inactive),
        RV(ansible_facts.mmipsec.available) is V(false) with
        RV(ansible_facts.mmipsec.reason=no_instances).
    type: str
    default: '*'
  include_inactive:
    description:
      - Also report instances whose C(Active) property is false.
      - Inactive instances never count towards RV(ansible_facts.mmipsec.totals).
    type: bool
    default: false
  via:
    description:
      - How the statistics are read.
      - V(module) runs this module on the host over the play's connection.
      - V(wsman) makes the action plugin query the class from the controller over
        WS-Management, reusing the host's C(ansible_winrm_*) connection settings; the fact's
        RV(ansible_facts.mmipsec.source) is then V(wsman).
      - M(ansible.builtin.gather_facts) runs facts modules directly, without their action
        plugin. When this module runs that way with V(wsman) (for example set through
        C(module_defaults)), it still reads the class locally on the host and reports
        RV(ansible_facts.mmipsec.source=cim).
      - Usually set for a whole play with C(module_defaults) and the action group
        C(group/winiscsi.ipsec.mmipsec).
    type: str
    choices: [module, wsman]
    default: module
attributes:
  check_mode:
    description: Can run in check mode and return the same facts it would return otherwise.
    support: full
  diff_mode:
    description: Returns no diff; the module changes nothing.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: windows
  facts:
    description: Returns its data as facts (C(ansible_facts.mmipsec)) and can run as a facts
      module of M(ansible.builtin.gather_facts) through C(FACTS_MODULES) or
      C(ansible_facts_modules).
    support: full
  action_group:
    description: Member of the action group C(winiscsi.ipsec.mmipsec), so
      C(module_defaults) for C(group/winiscsi.ipsec.mmipsec) apply to it.
    support: full
    membership:
      - winiscsi.ipsec.mmipsec
notes:
  - Reading C(root\WMI) driver data normally needs administrator rights. Connect as a member of
    the local Administrators group, or use C(become); membership of Remote Management Users
    alone is not enough. Access denied fails the task with a message saying so.
  - The module is read-only and always returns C(changed=false).
  - The instance filter runs on the host after the query, not in WQL, where C(_) would be a
    wildcard and backslashes would need doubling.
  - Counters are returned as exact unsigned 64-bit integers, never as floats or strings.
  - A hung WMI provider cannot block the task. The module gives each query a 20 second
    operation timeout (C(-OperationTimeoutSec)), the WS-Management OperationTimeout that
    O(via=wsman) sends by default (C(ansible_winrm_operation_timeout_sec) changes that one).
    Either way the task then fails, saying the provider did not answer in time; the host is
    not reported unreachable.
  - An error after some instances arrived ends the read as if none had; a partial list of
    instances is never returned.
  - A null C(Active) in an instance that matches O(instance_name), or a null counter in an
    instance that is kept, fails the task; instances left out by the filters are not read
    further.
seealso:
  - plugin: winiscsi.ipsec.mmipsec_verdict
    plugin_type: filter
  - plugin: winiscsi.ipsec.mmipsec_delta
    plugin_type: filter
  - plugin: winiscsi.ipsec.mmipsec_healthy
    plugin_type: test
  - name: MSiSCSI_MMIPSECStats structure
    description: The vendor's reference for the 21 members.
    link: https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/iscsiprf/ns-iscsiprf-_msiscsi_mmipsecstats
author:
  - winiscsi.ipsec contributors (@winiscsi)
"""

EXAMPLES = r"""
- name: Read the main-mode IPsec statistics of every active iSCSI adapter
  winiscsi.ipsec.mmipsec_facts:

- name: Read one adapter, active or not
  winiscsi.ipsec.mmipsec_facts:
    instance_name: ROOT\ISCSIPRT\0000_*
    include_inactive: true

- name: Show soft associations (cleartext fallbacks) summed over the active adapters
  ansible.builtin.debug:
    msg: "{{ ansible_facts.mmipsec.totals.soft_associations }}"
  when: ansible_facts.mmipsec.available

- name: Gather the statistics with the other facts, in one gather_facts task
  ansible.builtin.gather_facts:
  vars:
    ansible_facts_modules:
      - ansible.windows.setup
      - winiscsi.ipsec.mmipsec_facts

- name: Query from the controller over WS-Management for every module of the group
  module_defaults:
    group/winiscsi.ipsec.mmipsec:
      via: wsman
  block:
    - name: Read the statistics (the action plugin queries from the controller)
      winiscsi.ipsec.mmipsec_facts:
"""

RETURN = r"""
ansible_facts:
  description: The facts this module sets.
  returned: always
  type: dict
  contains:
    mmipsec:
      description:
        - The main-mode IPsec statistics of the host. The same shape whichever O(via) read them.
        - Counter keys are the snake_case names of the class's members, for example
          C(AuthenticationFailures) is C(authentication_failures).
      returned: always
      type: dict
      contains:
        available:
          description: Whether statistics were read. V(false) when the class, its instances or
            its provider are not usable; RV(ansible_facts.mmipsec.reason) says which.
          returned: always
          type: bool
          sample: true
        reason:
          description:
            - Why no statistics are available; V(null) when
              RV(ansible_facts.mmipsec.available) is V(true).
            - V(class_not_found) - the class is not registered on the host (no iSCSI initiator
              driver that implements it).
            - V(no_instances) - the class exists but has no instance, or none is left after
              O(instance_name) and O(include_inactive).
            - V(provider_error) - the WMI provider failed the query (for example a driver
              without the data block, C(0x8004100C) or C(0x80041001); also C(0x80070032) and
              C(0x80071068), and a WDM return code in WinRM's C(__ExtendedStatus)).
          returned: always
          type: str
          choices: [class_not_found, no_instances, provider_error]
          sample: null
        message:
          description: The host's own words (or which filter left nothing) when
            RV(ansible_facts.mmipsec.available) is V(false); V(null) otherwise.
          returned: always
          type: str
          sample: null
        source:
          description: Which transport read the data. V(cim) for this module, V(wsman) when
            the action plugin queried over WS-Management.
          returned: always
          type: str
          choices: [cim, wsman]
          sample: cim
        collected_at:
          description: When the statistics were read, UTC, ISO 8601 ending in C(Z).
          returned: always
          type: str
          sample: '2026-11-26T08:00:00.1234567Z'
        boot_time:
          description:
            - When the host last booted (C(Win32_OperatingSystem.LastBootUpTime)), UTC, ISO
              8601 ending in C(Z).
            - Converted with the boot time's own UTC offset, never guessed from local time, so
              a daylight saving change never reads as a reboot.
            - V(null) (with a warning) when it could not be read.
          returned: always
          type: str
          sample: '2026-11-20T07:12:03.5000000Z'
        instances:
          description: One entry per reported adapter instance; V([]) when
            RV(ansible_facts.mmipsec.available) is V(false).
          returned: always
          type: list
          elements: dict
          sample:
            - instance_name: ROOT\ISCSIPRT\0000_0
              active: true
              counters: {active_acquire: 1, active_receive: 0, acquire_failures: 0,
                         receive_failures: 0, send_failures: 0, acquire_heap_size: 4,
                         receive_heap_size: 8, negotiation_failures: 2,
                         authentication_failures: 1, invalid_cookies_received: 0,
                         total_get_spi: 120, key_additions: 118, key_updates: 118,
                         get_spi_failures: 0, key_addition_failures: 0,
                         key_update_failures: 0, connection_list_size: 3,
                         oakley_main_mode: 41, oakley_quick_mode: 118, invalid_packets: 0,
                         soft_associations: 0}
          contains:
            instance_name:
              description: The PnP instance name of the adapter (the class's key).
              returned: always
              type: str
              sample: ROOT\ISCSIPRT\0000_0
            active:
              description: The instance's C(Active) property.
              returned: always
              type: bool
              sample: true
            counters:
              description:
                - The 21 members as integers (0 to 2**64-1).
                - Gauges (current levels) are C(active_acquire), C(active_receive),
                  C(acquire_heap_size), C(receive_heap_size) and C(connection_list_size);
                  every other key counts since the IPsec service started.
              returned: always
              type: dict
              sample:
                active_acquire: 1
                active_receive: 0
                acquire_failures: 0
                receive_failures: 0
                send_failures: 0
                acquire_heap_size: 4
                receive_heap_size: 8
                negotiation_failures: 2
                authentication_failures: 1
                invalid_cookies_received: 0
                total_get_spi: 120
                key_additions: 118
                key_updates: 118
                get_spi_failures: 0
                key_addition_failures: 0
                key_update_failures: 0
                connection_list_size: 3
                oakley_main_mode: 41
                oakley_quick_mode: 118
                invalid_packets: 0
                soft_associations: 0
        totals:
          description:
            - The same 21 keys summed over the active instances in
              RV(ansible_facts.mmipsec.instances). A sum can exceed 2**64-1.
            - V({}) when RV(ansible_facts.mmipsec.available) is V(false).
          returned: always
          type: dict
          sample:
            active_acquire: 1
            active_receive: 0
            acquire_failures: 0
            receive_failures: 0
            send_failures: 0
            acquire_heap_size: 4
            receive_heap_size: 8
            negotiation_failures: 2
            authentication_failures: 1
            invalid_cookies_received: 0
            total_get_spi: 120
            key_additions: 118
            key_updates: 118
            get_spi_failures: 0
            key_addition_failures: 0
            key_update_failures: 0
            connection_list_size: 3
            oakley_main_mode: 41
            oakley_quick_mode: 118
            invalid_packets: 0
            soft_associations: 0
    qmipsec:
      description:
        - The quick-mode IPsec statistics of the host, from the sibling class
          C(MSiSCSI_QMIPSECStats) of the same read (one more WS-Management request with
          O(via=wsman)). They say whether the protected traffic itself is sound.
        - The keys, the instance shape and the meaning of C(available) and C(reason) are those
          of RV(ansible_facts.mmipsec); C(counters) and C(totals) hold the 18 quick-mode keys,
          the snake_case names of the class's members (C(PacketsNotDecrypted) is
          C(packets_not_decrypted)).
        - The class is optional. A host without it is normal, not an error, C(available) is
          V(false) with C(reason=class_not_found), and the verdicts skip the quick-mode
          checks.
        - docs/facts-reference.md describes every key.
      returned: always
      type: dict
      sample:
        available: true
        reason: null
        message: null
        source: cim
        collected_at: "2026-11-26T08:00:00.1234567Z"
        boot_time: "2026-11-20T07:12:03.4998760Z"
        instances:
          - instance_name: 'ROOT\ISCSIPRT\0000_0'
            active: true
            counters:
              active_sa: 4
              pending_key_operations: 0
              key_additions: 4800
              key_deletions: 4796
              re_keys: 1200
              active_tunnels: 0
              bad_spi_packets: 2
              packets_not_decrypted: 0
              packets_not_authenticated: 0
              packets_with_replay_detection: 1
              confidential_bytes_sent: 81234567890
              confidential_bytes_received: 79876543210
              authenticated_bytes_sent: 0
              authenticated_bytes_received: 0
              transport_bytes_sent: 81234567890
              transport_bytes_received: 79876543210
              tunnel_bytes_sent: 0
              tunnel_bytes_received: 0
        totals:
          active_sa: 4
          pending_key_operations: 0
          key_additions: 4800
          key_deletions: 4796
          re_keys: 1200
          active_tunnels: 0
          bad_spi_packets: 2
          packets_not_decrypted: 0
          packets_not_authenticated: 0
          packets_with_replay_detection: 1
          confidential_bytes_sent: 81234567890
          confidential_bytes_received: 79876543210
          authenticated_bytes_sent: 0
          authenticated_bytes_received: 0
          transport_bytes_sent: 81234567890
          transport_bytes_received: 79876543210
          tunnel_bytes_sent: 0
          tunnel_bytes_received: 0
"""

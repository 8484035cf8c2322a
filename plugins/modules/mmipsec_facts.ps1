#!powershell

# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

Set-StrictMode -Version 2.0

$spec = @{
    options = @{
        instance_name = @{ type = 'str'; default = '*' }
        include_inactive = @{ type = 'bool'; default = $false }
        # via=wsman is handled by the action plugin on the controller. gather_facts runs this
        # module directly (no action plugin), so here both values mean: read locally.
        via = @{ type = 'str'; choices = 'module', 'wsman'; default = 'module' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$instanceName = $module.Params.instance_name
$includeInactive = $module.Params.include_inactive

$namespace = 'root\WMI'
# A hung WDM provider must not block the task forever: the WS-Man OperationTimeout via=wsman
# sends by default (pywinrm's 20 s; a unit test holds the two equal).
$operationTimeoutSec = 20
# HRESULT -> outcome: a copy of plugin_utils/_wmi_errors.py WMI_ERRORS, held equal by a unit test.
$wmiErrors = [ordered]@{
    '0x80041010' = 'class_not_found'
    '0x80041001' = 'provider_error'
    '0x8004100c' = 'provider_error'
    '0x80070032' = 'provider_error'
    '0x80071068' = 'provider_error'
    '0x80041003' = 'access_denied'
    '0x80070005' = 'access_denied'
    '0x8004100e' = 'invalid_namespace'
    '0x800705b4' = 'timed_out'
    '0x80338029' = 'timed_out'
}
# WMI member -> fact key, in each class's member order. A unit test checks these tables against
# plugin_utils/_counters.py MEMBERS and QM_MEMBERS, the one source of truth: keep them identical.
$counterMembers = [ordered]@{
    ActiveAcquire = 'active_acquire'; ActiveReceive = 'active_receive'; AcquireFailures = 'acquire_failures'
    ReceiveFailures = 'receive_failures'; SendFailures = 'send_failures'; AcquireHeapSize = 'acquire_heap_size'
    ReceiveHeapSize = 'receive_heap_size'; NegotiationFailures = 'negotiation_failures'; AuthenticationFailures = 'authentication_failures'
    InvalidCookiesReceived = 'invalid_cookies_received'; TotalGetSPI = 'total_get_spi'; KeyAdditions = 'key_additions'
    KeyUpdates = 'key_updates'; GetSPIFailures = 'get_spi_failures'; KeyAdditionFailures = 'key_addition_failures'
    KeyUpdateFailures = 'key_update_failures'; ConnectionListSize = 'connection_list_size'; OakleyMainMode = 'oakley_main_mode'
    OakleyQuickMode = 'oakley_quick_mode'; InvalidPackets = 'invalid_packets'; SoftAssociations = 'soft_associations'
}
$qmCounterMembers = [ordered]@{
    ActiveSA = 'active_sa'; PendingKeyOperations = 'pending_key_operations'; KeyAdditions = 'key_additions'
    KeyDeletions = 'key_deletions'; ReKeys = 're_keys'; ActiveTunnels = 'active_tunnels'
    BadSPIPackets = 'bad_spi_packets'; PacketsNotDecrypted = 'packets_not_decrypted'; PacketsNotAuthenticated = 'packets_not_authenticated'
    PacketsWithReplayDetection = 'packets_with_replay_detection'; ConfidentialBytesSent = 'confidential_bytes_sent'; ConfidentialBytesReceived = 'confidential_bytes_received'
    AuthenticatedBytesSent = 'authenticated_bytes_sent'; AuthenticatedBytesReceived = 'authenticated_bytes_received'; TransportBytesSent = 'transport_bytes_sent'
    TransportBytesReceived = 'transport_bytes_received'; TunnelBytesSent = 'tunnel_bytes_sent'; TunnelBytesReceived = 'tunnel_bytes_received'
}

function ConvertTo-UtcTimestamp {
    param([DateTime]$Value)
    # 'o' on a UTC DateTime ends in 'Z'; InvariantCulture fixes the separators.
    $Value.ToString('o', [Globalization.CultureInfo]::InvariantCulture)
}

function ConvertFrom-DmtfDateTime {
    param([string]$Text)
    # DMTF datetime (DSP0004): local yyyymmddHHMMSS.mmmmmm, then the offset in signed minutes.
    if ($Text -notmatch '^(\d{14})\.(\d{6})([+-]\d{3})$') { throw "not a DMTF datetime: '$Text'" }
    $local = [DateTime]::ParseExact($Matches[1], 'yyyyMMddHHmmss', [Globalization.CultureInfo]::InvariantCulture)
    $moment = [DateTimeOffset]::new($local.AddTicks([long]$Matches[2] * 10), [TimeSpan]::FromMinutes([int]$Matches[3]))
    ConvertTo-UtcTimestamp -Value $moment.UtcDateTime
}

function Get-BootTime {
    param($Module)
    try {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime -OperationTimeoutSec $operationTimeoutSec -ErrorAction Stop
        # The [DateTime] CIM hands back is local-kind, and .ToUniversalTime() guesses inside the
        # repeated fall-back DST hour. The instance's CIM-XML keeps the provider's DMTF string,
        # whose own offset places it exactly, so a DST change never reads as a reboot.
        $serializer = [Microsoft.Management.Infrastructure.Serialization.CimSerializer]::Create()
        $xml = [Text.Encoding]::Unicode.GetString($serializer.Serialize($os, [Microsoft.Management.Infrastructure.Serialization.InstanceSerializationOptions]::None))
        if ($xml -notmatch 'NAME="LastBootUpTime"[^>]*>\s*<VALUE>([^<]*)</VALUE>') { throw 'the instance has no LastBootUpTime value' }
        ConvertFrom-DmtfDateTime -Text $Matches[1]
    }
    catch {
        # boot_time only helps reset detection: a broken repository must not fail the whole read.
        $Module.Warn("Failed to read Win32_OperatingSystem.LastBootUpTime, boot_time is null: $($_.Exception.Message)")
    }
}

function Get-CimErrorKind {
    param($Exception, $Table)
    # Never match the localized Message. WMI often reports NativeErrorCode=Failed with the real
    # HRESULT only in MessageId ("HRESULT 0x80041010"): the table decides on the HRESULT; a bare
    # Failed or NotSupported (quota, transport) is no provider_error.
    $hresult = if ([string]$Exception.MessageId -match '0x[0-9a-fA-F]{8}') { $Matches[0].ToLowerInvariant() }
    if ($null -ne $hresult -and $Table.Contains($hresult)) { return $Table[$hresult] }
    switch ([string]$Exception.NativeErrorCode) {
        'AccessDenied' { 'access_denied' }
        'InvalidClass' { 'class_not_found' }
        'InvalidNamespace' { 'invalid_namespace' }
        default { 'other' }
    }
}

function ConvertTo-InstanceFact {
    param($Instance, $Members, $ClassName, $Module)
    $name = [string]$Instance.InstanceName
    # A null would cast to 0 or $false and read as healthy data: fail closed, as via=wsman does.
    $unset = @(foreach ($prop in @('Active') + @($Members.Keys)) { if ($null -eq $Instance.$prop) { $prop } })
    if ($unset.Count -gt 0) {
        $module.FailJson("Failed to read $className instance '$name': $($unset -join ', ') is null, expected a value")
    }
    $counters = [ordered]@{}
    foreach ($member in $Members.GetEnumerator()) {
        # uint64 members arrive as [UInt64]: keep them raw, a [double] would lose digits.
        $counters[$member.Value] = [UInt64]$Instance.($member.Key)
    }
    [ordered]@{ instance_name = $name; active = [bool]$Instance.Active; counters = $counters }
}

function Get-ClassFact {
    param($ClassName, $Members, $Mode, $Module)
    $facts = [ordered]@{
        available = $false; reason = $null; message = $null; source = 'cim'
        collected_at = $null; boot_time = $null; instances = @(); totals = @{}
    }
    try {
        # An error after some instances arrived ends the read as if none had (a partial enumeration
        # would read as a counter reset); via=wsman does the same.
        $raw = @(Get-CimInstance -Namespace $namespace -ClassName $className -OperationTimeoutSec $operationTimeoutSec -ErrorAction Stop)
    }
    catch [Microsoft.Management.Infrastructure.CimException] {
        $record = $_  # inside switch, $_ is the value switched on
        $kind = Get-CimErrorKind -Exception $record.Exception -Table $wmiErrors
        $hostMessage = "$($record.Exception.Message)".Trim()  # localized text, may end with a space
        $code = "$($record.Exception.NativeErrorCode), $($record.Exception.MessageId)"
        $failure = "Failed to query $namespace $className`: $hostMessage ($code)"
        switch ($kind) {
            'access_denied' {
                $module.FailJson(("Failed to query $namespace $className`: access denied ($code). Reading this class needs an " +
                    'administrator account: connect as a member of the local Administrators group or use become.'), $record)
            }
            'timed_out' {
                $module.FailJson(("$failure. WMI did not answer within $operationTimeoutSec s: a WMI provider (the iSCSI " +
                    "adapter's WDM driver) is hung or slow; the task fails rather than waiting."), $record)
            }
            'invalid_namespace' { $module.FailJson("$failure. $namespace always exists: repair WMI (winmgmt /verifyrepository).", $record) }
            'other' { $module.FailJson($failure, $record) }
        }
        $facts.reason = $kind
        $facts.message = $hostMessage
        return $facts
    }
    catch {
        $module.FailJson("Failed to query $namespace $className`: $($_.Exception.Message)", $_)
    }
    # Filter on the client: in WQL '_' is a wildcard and every WDM InstanceName ends in '_0'.
    $matched = @(foreach ($item in $raw) { if ([string]$item.InstanceName -like $instanceName) { $item } })
    # Whether a matched instance counts cannot be told from a null Active: fail closed, as via=wsman.
    foreach ($item in $matched) {
        if ($null -eq $item.Active) { $module.FailJson("Failed to read $className instance '$($item.InstanceName)': Active is null, expected a value") }
    }
    $kept = @(foreach ($item in $matched) { if ($includeInactive -or [bool]$item.Active) { $item } })
    if ($kept.Count -gt 0) {
        $facts.available = $true
        $facts.instances = @(foreach ($item in $kept) { ConvertTo-InstanceFact $item $Members $className $Module })
        # Summed in [UInt64], which both editions write as a JSON integer ([decimal] is not: PowerShell
        # 7 writes 15 as 15.0). A sum past 2^64-1 turns [double], which [UInt64] refuses: totals are
        # then null, and the action plugin, which re-sums exactly on the controller anyway, fills them in.
        try {
            $facts.totals = [ordered]@{}
            foreach ($key in $Members.Values) {
                [UInt64]$sum = 0
                foreach ($fact in $facts.instances) { if ($fact.active) { $sum += $fact.counters[$key] } }
                $facts.totals[$key] = $sum
            }
        }
        catch { $facts.totals = $null }
        return $facts
    }
    $facts.reason = 'no_instances'
    $names = (@(foreach ($item in $raw) { "'$($item.InstanceName)' (active: $([bool]$item.Active))" }) -join ', ')
    $facts.message = if ($raw.Count -eq 0) {
        "The host has no $className instances in $namespace`: no adapter driver reports $Mode IPsec statistics."
    }
    elseif ($matched.Count -eq 0) { "None of the $($raw.Count) $className instances matched instance_name '$instanceName': $names." }
    else { "All $($matched.Count) $className instances matching instance_name '$instanceName' are inactive (include_inactive is false): $names." }
    $facts
}

# -like is case-insensitive and parses its pattern only when it matches, so match once up front:
# an invalid pattern (an unbalanced '[') fails here with a clear message, not mid-loop.
try { $null = '' -like $instanceName }
catch {
    $module.FailJson(("instance_name '$instanceName' is not a valid wildcard pattern: $($_.Exception.Message) " +
        "Escape a literal '[' or ']' with a backtick (``[)."), $_)
}

$collectedAt = ConvertTo-UtcTimestamp -Value ([DateTime]::UtcNow)
$bootTime = Get-BootTime -Module $module
# The quick-mode class is optional too: a host without it gets qmipsec.available false.
$mm = Get-ClassFact -ClassName 'MSiSCSI_MMIPSECStats' -Members $counterMembers -Mode 'main-mode' -Module $module
$qm = Get-ClassFact -ClassName 'MSiSCSI_QMIPSECStats' -Members $qmCounterMembers -Mode 'quick-mode' -Module $module
foreach ($snapshot in @($mm, $qm)) { $snapshot.collected_at = $collectedAt; $snapshot.boot_time = $bootTime }

$module.Result.ansible_facts = @{ mmipsec = $mm; qmipsec = $qm }
$module.ExitJson()

using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Switching;

/// <summary>Options of <see cref="VirtualSwitch"/>.</summary>
public sealed class VirtualSwitchOptions
{
    /// <summary>Software fast-path options.</summary>
    public SoftwareBackendOptions Backend { get; set; } = new();

    /// <summary>Datapath options. Conntrack limits and timeouts, and the offload policy, come from the policy document.</summary>
    public DatapathOptions Datapath { get; set; } = new();

    /// <summary>
    /// The backend the datapath installs flows into (a hardware backend, for example); null for the switch's own
    /// software backend made from <see cref="Backend"/>. The switch does not dispose it: whoever created it does.
    /// Its <see cref="FlowBackend.HostTable"/> (or, when it has none, a small private table) is the switch's
    /// <see cref="VirtualSwitch.Backend"/>.
    /// </summary>
    public FlowBackend? OffloadBackend { get; set; }

    /// <summary>The port numbering to use (shared with whoever created <see cref="OffloadBackend"/>, so its port ids
    /// match the switch's); null for a new one.</summary>
    public PortRegistry? Ports { get; set; }
}

/// <summary>
/// One host's virtual switch with the in-process policy slow path: the software fast path, the
/// datapath, and the policy, wired together. Ports come from the policy (local VM ports, and the
/// uplink as port 1); a new policy is compiled, swapped in, and every tracked connection revalidated.
/// </summary>
/// <remarks>Driven by one thread, like <see cref="Datapath.Datapath"/>.</remarks>
public sealed partial class VirtualSwitch : IDisposable
{
    private readonly PolicySlowPath _slowPath;
    private readonly HashSet<ushort> _declared = new();
    private readonly SoftwareBackend? _ownBackend;

    /// <summary>Creates the switch for <paramref name="policy"/>; every frame's result goes to <paramref name="sink"/>.</summary>
    public VirtualSwitch(PolicySnapshot policy, IFrameSink sink, VirtualSwitchOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new VirtualSwitchOptions();
        var time = timeProvider ?? TimeProvider.System;
        options.Datapath.Conntrack = policy.ToConntrackOptions();
        options.Datapath.Offload = policy.ToOffloadPolicy();
        _slowPath = new PolicySlowPath(policy, options.Ports);
        FlowBackend offload;
        if (options.OffloadBackend is { } given)
        {
            offload = given;
        }
        else
        {
            _ownBackend = new SoftwareBackend(options.Backend, time);
            offload = _ownBackend;
        }
        Datapath = new Datapath.Datapath(options.Datapath, _slowPath, offload, sink, time);
        Datapath.AddUplink(PortRegistry.Uplink, PortRegistry.UplinkName);
        DeclarePorts(_slowPath.Policy);
    }

    /// <summary>The datapath.</summary>
    public Datapath.Datapath Datapath { get; }

    /// <summary>The software fast path: the table frames reaching the host are looked up in (the offload backend's
    /// host table when <see cref="VirtualSwitchOptions.OffloadBackend"/> is set).</summary>
    public SoftwareBackend Backend => Datapath.Backend;

    /// <summary>The backend flows are installed into: <see cref="Backend"/>, or <see cref="VirtualSwitchOptions.OffloadBackend"/>.</summary>
    public FlowBackend OffloadBackend => Datapath.OffloadBackend;

    /// <summary>The slow path.</summary>
    public PolicySlowPath SlowPath => _slowPath;

    /// <summary>The policy in force.</summary>
    public PolicySnapshot Policy => _slowPath.Policy.Snapshot;

    /// <summary>Port numbering (names ↔ numbers).</summary>
    public PortRegistry Ports => _slowPath.Ports;

    /// <summary>The connection tracking table.</summary>
    public ConntrackTable Conntrack => Datapath.Conntrack;

    /// <summary>The name of a port number ("uplink" for the uplink), or null.</summary>
    public string? PortName(ushort port) => port == 0 ? null : Ports.NameOf(port);

    /// <summary>Processes frames (see <see cref="Datapath.Datapath.Process(Span{InputFrame})"/>).</summary>
    public void Process(Span<InputFrame> frames) => Datapath.Process(frames);

    /// <summary>Housekeeping (see <see cref="Datapath.Datapath.Poll"/>).</summary>
    public int Poll() => Datapath.Poll();

    /// <summary>
    /// Puts a new policy in force: compiled and swapped atomically, ports and QoS updated, then every
    /// tracked connection re-derived (S4) — updated in place, or removed when the new policy denies it.
    /// Returns when revalidation is complete.
    /// </summary>
    public RevalidationResult ApplyPolicy(PolicySnapshot policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var compiled = _slowPath.Apply(policy);
        DeclarePorts(compiled);
        return Datapath.Revalidate(_slowPath);
    }

    /// <summary>
    /// The ingress port of a frame read from a capture (SPEC "Policy"): a frame whose source MAC is a local
    /// port's comes from that port; a VXLAN/GRE frame to this host's underlay address, or a frame to an SNAT
    /// public address, comes from the uplink; anything else is port 0, which the datapath drops as unknown-port.
    /// </summary>
    public ushort IngressPortOf(ReadOnlySpan<byte> frame)
    {
        PacketParser.Parse(frame, out var p);
        var policy = _slowPath.Policy;
        if (frame.Length >= 12)
        {
            var src = MacAddress.Read(frame.Slice(6));
            foreach (var port in policy.Ports)
            {
                if (port.IsLocal && port.Mac == src)
                    return port.Number;
            }
        }
        if (!p.IsIp)
            return 0;
        // Addressed to this host's underlay or to a public SNAT address: from the uplink, even when a
        // later header is malformed — the datapath then drops it with that header's reason.
        bool toUnderlay = p.DstIp == policy.HostUnderlay.Ip && (!p.IsValid || p.Tunnel != TunnelKind.None);
        return toUnderlay || policy.SnatPublicIps.Contains(p.DstIp) ? PortRegistry.Uplink : (ushort)0;
    }

    private void DeclarePorts(CompiledPolicy policy)
    {
        var now = new HashSet<ushort>();
        foreach (var port in policy.Ports)
        {
            if (!port.IsLocal)
                continue;
            now.Add(port.Number);
            Datapath.AddPort(port.Number, port.Config.Name, port.Network.Vni);
            QosConfig.ApplyTo(Datapath.Meters, port.Number, port.Qos);
        }
        foreach (ushort gone in _declared)
        {
            if (!now.Contains(gone))
            {
                Datapath.RemovePort(gone);
                Datapath.Meters.Remove(gone);
            }
        }
        _declared.Clear();
        _declared.UnionWith(now);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Datapath.Dispose();
        _ownBackend?.Dispose();
    }
}

using System.Collections.Concurrent;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Devices;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Nflog;
using Offload.Kernel.Sync;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// The slow path that is the real Linux kernel (claims C1, C2, C12–C14): a missed frame is written into its source
/// port's emulated NIC of a <see cref="KernelHostTopology"/> (a tunnel frame's inner frame into its network's tunnel
/// device, a public frame into the uplink device); the kernel routes it, runs the generated nftables ruleset, conntrack
/// and NAT; the adapter learns what happened and answers with a decision for both directions of the connection.
/// </summary>
/// <remarks>
/// <para>Learning. One background thread polls every TAP and the NFLOG group (non-blocking TAP reads; the NFLOG receive
/// waits at most <see cref="KernelSlowPathOptions.PollInterval"/>, which is the loop's pause while decisions are
/// pending — a short poll loop, chosen over epoll for simplicity; idle, the thread sleeps until a request comes). A frame
/// out of a TAP is matched to its request through conntrack: its tuple inverted names the entry, and which of the entry's
/// tuples it equals gives the direction, so the request is the one written in with the entry's other tuple (both
/// directions of one connection may be in the kernel at once, see <see cref="TryInputTuple"/>). The actions of both directions are
/// then derived from the entry's tuples and the topology (<see cref="TryBuildFlows"/>: router/uplink MACs, the VM's MAC,
/// TTL − 1, NAT from original vs reply tuple, tunnel encapsulation to the remote port's host, decapsulation of received
/// tunnel frames), and verified: the action applied to the received frame must reproduce the kernel's output byte for
/// byte (checksums included). A mismatch is counted (<see cref="KernelSlowPathStats.Mismatches"/>) and the kernel's
/// own frame is sent instead (<see cref="SlowPathDecision.Response"/>) with nothing installed: the kernel stays the
/// authority, and the connection's next packets come back to it rather than to a flow known to be wrong.
/// A drop logged to NFLOG (prefix <c>reason:id</c>) becomes a drop with that reason, a drop flow, and the rule as
/// provenance; a packet with no answer in <see cref="KernelSlowPathOptions.DecisionTimeout"/> is dropped as
/// <see cref="DropReason.SlowPathTimeout"/>.</para>
/// <para>Receive direction (C12, C13). An inner frame is written into the tunnel device of the network of its VNI with its
/// destination MAC set to that device's (the router) MAC, so the kernel takes it as routed traffic; the kernel looks up
/// the inner destination IP (its /32 route and permanent neighbour) and writes the destination VM's MAC on delivery,
/// which is what the learned action then does in the fast path.</para>
/// <para>Known connections. Packets of a connection the datapath tracks but has not offloaded (the handshake under
/// <see cref="OffloadTrigger.Established"/>, TCP FIN/RST punted so the kernel's state machine advances, ICMP errors
/// related to a connection) are written in too and answered with the connection's action once the kernel forwarded them
/// (ICMP errors are matched by their IPv4 identification, since their own tuple names no entry; see below for ICMPv6).</para>
/// <para>Load balancing. A <c>random</c> VIP is the kernel's own (<c>numgen random</c>). For least-connections and
/// Maglev, which nftables cannot express, the adapter chooses the backend with the same selectors as
/// <see cref="PolicySlowPath"/> (least-connections from this adapter's live counts) and pins it in the VIP's kernel
/// maps (<see cref="Nftables.NftablesRulesetGenerator.PinBackendCommand"/>) before it writes the first packet in;
/// conntrack keeps the binding after that. <see cref="OnConnectionRemoved"/> deletes the pin and gives back the count.</para>
/// <para>Restart. <see cref="RecoverConnections"/> derives, from the kernel's conntrack dump and the topology alone, the
/// decisions of every live connection of this host, so a new agent can re-install its fast path.</para>
/// <para>Policy changes (S4). <see cref="ApplyPolicy"/> reconciles the topology and swaps the ruleset atomically;
/// <see cref="Revalidate"/> then re-derives offloaded connections (a denied one also loses its kernel conntrack entry).</para>
/// <para>Not the kernel's. ARP and neighbour solicitations are answered by the switch's own responder (the kernel holds
/// no VM address); QoS meters are charged by the learned actions as by the policy slow path. ICMPv6 errors related to a
/// connection have no IPv4 identification to be matched by; they are matched by type, code and length, so two such
/// errors of the same shape in flight at once may be answered crosswise.</para>
/// <para>Threads. <see cref="DecideAsync"/> never blocks and never throws: it copies the frame, queues the request for
/// the adapter's thread and returns a pending task. Observer callbacks may come from the datapath's thread.</para>
/// </remarks>
public sealed partial class KernelSlowPath : ISlowPath, ISlowPathObserver, IKernelConnectionResolver, IDisposable
{
    private readonly KernelHostTopology _topology;
    private readonly PortRegistry _ports;
    private readonly KernelSlowPathOptions _options;
    private readonly TimeProvider _time;
    private readonly CtnetlinkClient _conntrack;
    private readonly NflogListener _nflog;
    private readonly ConcurrentQueue<KernelPendingDecision> _inbox = new();
    private readonly ConcurrentQueue<KernelUnpin> _unpins = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly object _policyGate = new();
    private volatile State _state;
    private volatile bool _stopping;
    private volatile bool _broken;
    private int _inFlight;
    private long _injected, _forwarded, _dropped, _timedOut, _verified, _mismatches, _unmatched, _errors;

    /// <summary>
    /// Starts the adapter over <paramref name="topology"/> (which it does not own), numbering ports in
    /// <paramref name="ports"/> as the datapath does.
    /// </summary>
    /// <exception cref="Netlink.NetlinkException">The ctnetlink or NFLOG socket could not be opened.</exception>
    public KernelSlowPath(KernelHostTopology topology, PortRegistry ports, KernelSlowPathOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(ports);
        _options = options ?? new KernelSlowPathOptions();
        _options.Validate();
        _topology = topology;
        _ports = ports;
        _time = timeProvider ?? TimeProvider.System;
        _state = State.Of(topology, ports);
        ushort group = topology.Topology.LogGroup;
        TimeSpan poll = _options.PollInterval;
        _conntrack = NetworkNamespace.RunIn(topology.Namespace, () => CtnetlinkClient.Open(TimeSpan.FromSeconds(1)));
        try
        {
            _nflog = NetworkNamespace.RunIn(topology.Namespace, () => NflogListener.Open(group, poll));
        }
        catch
        {
            _conntrack.Dispose();
            throw;
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "kernel slow path " + topology.Owner };
        _thread.Start();
    }

    /// <summary>The topology the kernel routes by.</summary>
    public KernelHostTopology Topology => _topology;

    /// <summary>The port numbering shared with the datapath.</summary>
    public PortRegistry Ports => _ports;

    /// <summary>The policy in force, compiled.</summary>
    public CompiledPolicy Policy => _state.Builder.Policy;

    /// <summary>The adapter's counters.</summary>
    public KernelSlowPathStats Stats => new()
    {
        Injected = Interlocked.Read(ref _injected), Forwarded = Interlocked.Read(ref _forwarded),
        Dropped = Interlocked.Read(ref _dropped), TimedOut = Interlocked.Read(ref _timedOut),
        Verified = Interlocked.Read(ref _verified), Mismatches = Interlocked.Read(ref _mismatches),
        Unmatched = Interlocked.Read(ref _unmatched), Errors = Interlocked.Read(ref _errors),
        Pending = Volatile.Read(ref _inFlight),
    };

    /// <summary>Test hook: every kernel output matched to a request, with the frame the datapath will send.</summary>
    internal Action<KernelOutput>? OnKernelOutput { get; set; }

    /// <summary>
    /// Applies <paramref name="next"/> to the topology (devices, routes, ruleset) and decides by it from now on; the
    /// adapter's thread pauses meanwhile, so it never reads a device the change removes. Declaring new ports to the
    /// datapath and revalidating its offloaded flows afterwards are the caller's.
    /// </summary>
    public void ApplyPolicy(Policy.PolicySnapshot next)
    {
        lock (_policyGate)
        {
            _topology.Apply(next);
            _state = State.Of(_topology, _ports);
        }
    }

    /// <inheritdoc/>
    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return Decide(request);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _errors);
            return new(SlowPathDecision.Drop(DropReason.SlowPathError));
        }
    }

    private ValueTask<SlowPathDecision> Decide(SlowPathRequest request)
    {
        if (_stopping || _broken || request is null)
            return new(SlowPathDecision.Drop(DropReason.SlowPathError));
        State state = _state;
        ReadOnlySpan<byte> frame = request.Frame.Span;
        if (!request.Packet.IsIp || NeighborResponder.TryGetSolicitedTarget(frame[request.TunnelHeaderLength..], request.Packet, out _))
            return new(state.Neighbours.Decide(request)); // ARP/ND: the switch answers itself (A1); the kernel has no VM addresses
        if (request.Packet.IsIcmpError && !request.IsRelated)
            return new(SlowPathDecision.Drop(DropReason.ConntrackInvalid)); // an error about no connection we know
        if (Volatile.Read(ref _inFlight) >= _options.MaxPendingDecisions)
            return new(SlowPathDecision.Drop(DropReason.PendingQueueFull));
        DropReason reason = TryPrepareInjection(state, request, frame, out TapDevice? device, out byte[]? injected);
        if (reason != DropReason.None)
            return new(SlowPathDecision.Drop(reason));

        long deadline = _time.GetTimestamp() + (long)(_options.DecisionTimeout.TotalSeconds * _time.TimestampFrequency);
        var pending = new KernelPendingDecision(request, frame.ToArray(), injected!, device!, deadline)
        {
            Pin = request.Connection.IsNone ? ChooseBackend(state, request) : null,
        };
        Interlocked.Increment(ref _inFlight);
        _inbox.Enqueue(pending);
        _wake.Set();
        return new(pending.Completion.Task);
    }

    // Which TAP the frame goes into and what is written there.
    private static DropReason TryPrepareInjection(State state, SlowPathRequest request, ReadOnlySpan<byte> frame, out TapDevice? device, out byte[]? injected)
    {
        device = null;
        injected = null;
        CompiledPolicy policy = state.Builder.Policy;
        if (request.InPort == PortRegistry.Uplink)
        {
            if (request.TunnelHeaderLength > 0)
            {
                CompiledNetwork? network = policy.NetworkByVni(request.Key.Vni);
                if (network is null || !state.Tunnels.TryGetValue(network.Config.Name, out device))
                    return DropReason.NoRoute;
                injected = InnerFrame(frame[request.TunnelHeaderLength..], request.Packet, policy.GatewayMac);
                return DropReason.None;
            }
            device = state.Uplink;
            if (device is null)
                return DropReason.Unsolicited;
            injected = frame.ToArray();
            policy.HostUnderlay.Mac.WriteTo(injected);
            return DropReason.None;
        }
        CompiledPort? port = policy.LocalPort(request.InPort);
        if (port is null || !state.PortDevices.TryGetValue(port.Config.Name, out device))
            return DropReason.UnknownPort;
        injected = frame.ToArray();
        // The switch routes a VM's unicast frames by destination IP whatever their destination MAC (C7).
        if ((injected[0] & 1) == 0)
            policy.GatewayMac.WriteTo(injected);
        return DropReason.None;
    }

    // The inner frame addressed to the tunnel device (router) MAC; a GRE frame carrying bare IP gets an Ethernet header.
    private static byte[] InnerFrame(ReadOnlySpan<byte> inner, in ParsedPacket packet, MacAddress router)
    {
        if (packet.L3Offset > 0)
        {
            byte[] copy = inner.ToArray();
            router.WriteTo(copy);
            return copy;
        }
        byte[] framed = new byte[14 + inner.Length];
        router.WriteTo(framed);
        router.WriteTo(framed.AsSpan(6));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(framed.AsSpan(12), packet.L3 == L3Kind.IPv4 ? EtherType.IPv4 : EtherType.IPv6);
        inner.CopyTo(framed.AsSpan(14));
        return framed;
    }

    /// <inheritdoc/>
    public void OnConnectionRemoved(in ConnectionInfo connection) => Release(connection.Original, connection.Reply);

    /// <inheritdoc/>
    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision)
    {
        // Called on the datapath's thread: nothing here throws.
        if (request is null || decision is null)
            return;
        if (decision.ReplyKey is { } reply && request.Connection.IsNone)
            Release(request.Key, reply);
    }

    /// <summary>Stops the adapter's thread; pending requests are answered with <see cref="DropReason.SlowPathError"/>.
    /// The topology is the caller's.</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        _wake.Set();
        _thread.Join();
        FailAll(DropReason.SlowPathError); // what was queued while the thread wound down
        _nflog.Dispose();
        _conntrack.Dispose();
        _wake.Dispose();
    }

    // What the adapter's thread and DecideAsync read of the policy, swapped whole on a policy change.
    private sealed class State
    {
        public required KernelDecisionBuilder Builder { get; init; }
        public required PolicySlowPath Neighbours { get; init; }
        public required Dictionary<string, TapDevice> PortDevices { get; init; }
        public required Dictionary<string, TapDevice> Tunnels { get; init; }
        public TapDevice? Uplink { get; init; }
        public required KernelDevice[] Devices { get; init; }

        public static State Of(KernelHostTopology topology, PortRegistry ports)
        {
            var compiled = new CompiledPolicy(topology.Policy, ports);
            var devices = new List<KernelDevice>();
            foreach ((string name, TapDevice tap) in topology.Ports)
            {
                ushort number = ports.GetOrAdd(name);
                devices.Add(new KernelDevice(tap, number, IsTunnel: false));
            }
            foreach (TapDevice tap in topology.Tunnels.Values)
                devices.Add(new KernelDevice(tap, PortRegistry.Uplink, IsTunnel: true));
            if (topology.Uplink is { } uplink)
                devices.Add(new KernelDevice(uplink, PortRegistry.Uplink, IsTunnel: false));
            return new State
            {
                Builder = new KernelDecisionBuilder(compiled),
                Neighbours = new PolicySlowPath(topology.Policy, ports),
                PortDevices = new Dictionary<string, TapDevice>(topology.Ports, StringComparer.Ordinal),
                Tunnels = new Dictionary<string, TapDevice>(topology.Tunnels, StringComparer.Ordinal),
                Uplink = topology.Uplink,
                Devices = [.. devices],
            };
        }
    }
}

/// <summary>A TAP the adapter reads: the datapath port its output stands for, and whether it is a tunnel device.</summary>
internal readonly record struct KernelDevice(TapDevice Tap, ushort OutPort, bool IsTunnel);

/// <summary>A kernel output matched to its request (test hook): the frame the kernel emitted and the datapath's.</summary>
internal readonly record struct KernelOutput(SlowPathRequest Request, byte[] KernelFrame, byte[]? LearnedFrame, bool Verified);

using System.Runtime.CompilerServices;
using Offload.Actions;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P2 and P4: the real <see cref="Datapath.Datapath"/> with 1M established UDP connections (2M flows) DNATed by
/// <see cref="DnatSlowPath"/>, fed batches of 32 in-memory frames of random connections (hits only), against the same
/// pipeline over a <see cref="Dictionary{TKey, TValue}"/>: <see cref="PacketParser.Parse"/>, one dictionary lookup,
/// <see cref="ActionExecutor.Apply"/>, a per-flow counter update, the same sink call.
/// </summary>
internal sealed class DatapathWorkload : IDisposable
{
    public const int Batch = 32;

    private readonly SoftwareBackend _backend;
    private readonly Datapath.Datapath _datapath;
    private readonly CountingSink _sink = new();
    private readonly byte[] _template;
    private readonly InputFrame[] _frames = UdpFrames.Batch(Batch, DnatSlowPath.Vm1);
    private readonly int[] _order;
    private readonly Dictionary<FlowKey, DictionaryFlow> _dictionary;
    private readonly PipelineCounters[] _counters;
    private int _subjectPos, _baselinePos;

    /// <summary>Managed bytes the connections added (conntrack index and wheel, datapath records), measured as
    /// tests/Offload.Core.Tests/Datapath/ConnectionMemoryTests.cs measures them.</summary>
    public double ManagedBytesPerConnection { get; }

    /// <summary>Unmanaged bytes of conntrack's connection slots per connection.</summary>
    public double ConntrackSlotBytesPerConnection { get; }

    /// <summary>Unmanaged bytes of the software flow table per connection (2 flows each, index included).</summary>
    public double TableBytesPerConnection { get; }

    public double SetupSeconds { get; }

    public int Connections { get; }

    public DatapathWorkload(int connections, bool buildBaseline = true)
    {
        Connections = connections;
        var options = new DatapathOptions();
        options.Conntrack.MaxEntries = connections;
        // On a loaded VM the 1M-connection setup can outlast the 30 s UDP timeout (23-29 s with 8 busy processes).
        // The per-packet work does not depend on the timeout: a refresh to a later deadline only writes it, 1 h is
        // inside the 4,096 s wheel, and nothing expires during the measurement. The "1 h timeouts slow P2" finding
        // of 2026-11-25 was CPU load: 1 h let loaded runs finish setup, where 30 s made them fail and go unreported.
        options.Conntrack.Timeouts.Udp = 3600;
        options.Conntrack.Timeouts.UdpStream = 3600;
        _backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 2 * connections });
        _datapath = new Datapath.Datapath(options, new DnatSlowPath(), _backend, _sink);
        _datapath.AddPort(DnatSlowPath.Vm1, "vm1", DnatSlowPath.Vni);
        _datapath.AddPort(DnatSlowPath.Vm2, "vm2", DnatSlowPath.Vni);
        _template = UdpFrames.Template(DnatSlowPath.Vm1Mac, DnatSlowPath.GatewayMac, DnatSlowPath.Vm1Ip, DnatSlowPath.Vip);

        long managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int c = 0; c < connections; c += Batch)
        {
            int n = Math.Min(Batch, connections - c);
            for (int i = 0; i < n; i++)
            {
                var (s, d) = DnatSlowPath.Ports(c + i);
                UdpFrames.Fill(ref _frames[i], _template, s, d);
            }
            _datapath.Process(_frames.AsSpan(0, n));
        }
        _datapath.Poll();
        SetupSeconds = sw.Elapsed.TotalSeconds;
        long managedAfter = GC.GetTotalMemory(forceFullCollection: true);
        if (_datapath.Conntrack.Count != connections || _backend.Count != 2 * connections)
            throw new InvalidOperationException($"setup: {_datapath.Conntrack.Count} connections, {_backend.Count} flows");
        ManagedBytesPerConnection = (double)(managedAfter - managedBefore) / connections;
        TableBytesPerConnection = (double)_backend.AllocatedBytes / connections;
        ConntrackSlotBytesPerConnection = (double)_datapath.Conntrack.AllocatedBytes / connections;

        _order = FlowKeys.RandomOrder(1 << 21, connections, seed: 3);
        _dictionary = new Dictionary<FlowKey, DictionaryFlow>(buildBaseline ? 2 * connections : 0);
        _counters = new PipelineCounters[buildBaseline ? 2 * connections : 0];
        if (buildBaseline)
        {
            foreach (var flow in _backend.Snapshot())
                _dictionary.Add(flow.Key, new DictionaryFlow(flow.Action.Program, flow.Action.Nat, _dictionary.Count));
        }
    }

    public Datapath.Datapath Datapath => _datapath;

    public SoftwareBackend Backend => _backend;

    public CountingSink Sink => _sink;

    /// <summary>One batch of 32 frames through the real datapath.</summary>
    public void SubjectBatch()
    {
        if (_subjectPos + Batch > _order.Length)
            _subjectPos = 0;
        for (int i = 0; i < Batch; i++)
        {
            var (s, d) = DnatSlowPath.Ports(_order[_subjectPos + i]);
            UdpFrames.Fill(ref _frames[i], _template, s, d);
        }
        _subjectPos += Batch;
        _datapath.Process(_frames);
    }

    /// <summary>The same 32 frames through the dictionary pipeline.</summary>
    public void BaselineBatch()
    {
        if (_baselinePos + Batch > _order.Length)
            _baselinePos = 0;
        long now = TimeProvider.System.GetTimestamp();
        for (int i = 0; i < Batch; i++)
        {
            var (s, d) = DnatSlowPath.Ports(_order[_baselinePos + i]);
            ref var frame = ref _frames[i];
            UdpFrames.Fill(ref frame, _template, s, d);
            Baseline(ref frame, now);
        }
        _baselinePos += Batch;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Baseline(ref InputFrame frame, long now)
    {
        var span = frame.Buffer.Span;
        PacketParser.Parse(span, out var p);
        if (!p.IsValid || !p.IsIp)
            throw new InvalidOperationException("baseline frame did not parse");
        var key = FlowKey.FromPacket(in p, frame.InPort, DnatSlowPath.Vni);
        if (!_dictionary.TryGetValue(key, out var flow))
            throw new InvalidOperationException("baseline miss");
        int bytes = frame.Buffer.Length;
        var outcome = ActionExecutor.Apply(flow.Program, in flow.Nat, ref frame.Buffer, ref p, 0, null, now);
        ref var counters = ref _counters[flow.Index];
        counters.Packets++;
        counters.Bytes += bytes;
        counters.LastSeenTicks = now;
        var result = new FrameResult
        {
            Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = PacketPath.Fast,
            Verdict = outcome.Verdict, OutPort = outcome.OutPort, Reason = outcome.Reason,
        };
        _sink.OnFrame(in result, frame.Buffer.Span);
    }

    /// <summary>New connections per second through the whole pipeline (P3): first packet, slow-path decision,
    /// conntrack entry, both directions installed. Runs on a fresh datapath of <paramref name="capacity"/> connections.</summary>
    /// <param name="connections">New connections to set up (and the conntrack limit).</param>
    /// <param name="presized">Conntrack slots allocated up front (<see cref="Conntrack.ConntrackOptions.InitialCapacity"/> =
    /// the limit), as a switch configured for its capacity runs; otherwise they double from the default 1,024.</param>
    public static (double Rate, int Connections, int Flows) MeasureSetupRate(int connections, bool presized = false)
    {
        var options = new DatapathOptions();
        options.Conntrack.MaxEntries = connections;
        if (presized)
            options.Conntrack.InitialCapacity = connections;
        using var backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 2 * connections });
        var sink = new CountingSink();
        using var datapath = new Datapath.Datapath(options, new DnatSlowPath(), backend, sink);
        datapath.AddPort(DnatSlowPath.Vm1, "vm1", DnatSlowPath.Vni);
        datapath.AddPort(DnatSlowPath.Vm2, "vm2", DnatSlowPath.Vni);
        var template = UdpFrames.Template(DnatSlowPath.Vm1Mac, DnatSlowPath.GatewayMac, DnatSlowPath.Vm1Ip, DnatSlowPath.Vip);
        var frames = UdpFrames.Batch(Batch, DnatSlowPath.Vm1);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int c = 0; c < connections; c += Batch)
        {
            int n = Math.Min(Batch, connections - c);
            for (int i = 0; i < n; i++)
            {
                var (s, d) = DnatSlowPath.Ports(c + i);
                UdpFrames.Fill(ref frames[i], template, s, d);
            }
            datapath.Process(frames.AsSpan(0, n));
            datapath.Poll();
        }
        double seconds = sw.Elapsed.TotalSeconds;
        return (datapath.Conntrack.Count / seconds, datapath.Conntrack.Count, backend.Count);
    }

    public void Dispose()
    {
        _datapath.Dispose();
        _backend.Dispose();
    }

    private readonly struct DictionaryFlow(ActionProgram program, NatRewrite nat, int index)
    {
        public readonly ActionProgram Program = program;
        public readonly NatRewrite Nat = nat;
        public readonly int Index = index;
    }

    private struct PipelineCounters
    {
        public long Packets;
        public long Bytes;
        public long LastSeenTicks;
    }
}

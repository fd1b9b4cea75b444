using System.Collections.Concurrent;
using Offload.Actions;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Sync;
using Offload.Kernel.Tests.Conntrack;
using Offload.Kernel.Tests.Netns;
using Offload.Packets;

namespace Offload.Kernel.Tests.Sync;

/// <summary>
/// A datapath (software backend, real clock) whose connections mirror kernel conntrack entries of a private namespace:
/// vm1 (port 1) talks to vm2 (port 2) in network 100; the resolver maps kernel tuples from <see cref="OurPrefix"/> (and
/// loopback) to keys arriving on vm1.
/// </summary>
internal sealed class SyncBed : IDisposable
{
    public const ushort Vm1 = 1, Vm2 = 2;
    public const uint Vni = 100;
    public const string OurPrefix = "10.9.";

    public NetworkNamespace Ns { get; } = NetworkNamespace.Create();
    public SoftwareBackend Backend { get; } = new(new SoftwareBackendOptions { Capacity = 65_536 });
    public RecordingSlowPath SlowPath { get; } = new();
    public TestResolver Resolver { get; } = new();
    public Offload.Datapath.Datapath Datapath { get; }
    public KernelConntrackSync Sync { get; }

    public SyncBed(DatapathOptions? options = null, KernelConntrackSyncOptions? syncOptions = null)
    {
        Datapath = new Offload.Datapath.Datapath(options ?? new DatapathOptions(), SlowPath, Backend, new NullSink());
        Datapath.AddPort(Vm1, "vm1", Vni);
        Datapath.AddPort(Vm2, "vm2", Vni);
        Sync = new KernelConntrackSync(Datapath, Resolver, syncOptions);
    }

    public static FlowKey KeyOf(in ConntrackTuple original) => original.ToFlowKey(Vm1, Vni);

    /// <summary>Imports the connection of a kernel entry as a restarted agent would: vm1 → vm2 and back.</summary>
    public void Import(in ConntrackTuple original, ConnState state, TimeSpan remaining) =>
        Datapath.ImportConnection(KeyOf(original), Vm1ToVm2(original), state, remaining).Should().Be(ConnectionImportResult.Imported);

    /// <summary>The decision for a connection from vm1 to vm2: out of port 2, replies out of port 1.</summary>
    public static SlowPathDecision Vm1ToVm2(in ConntrackTuple original)
    {
        var key = KeyOf(original);
        key.TryInvert(Vm2, Vni, out var reply).Should().BeTrue();
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = new FlowAction(ActionProgram.CreateBuilder().Output(Vm2).Build(), default),
            ReplyKey = reply,
            ReplyAction = new FlowAction(ActionProgram.CreateBuilder().Output(Vm1).Build(), default),
        };
    }

    public bool Tracks(in ConntrackTuple original) => Datapath.Conntrack.TryLookup(KeyOf(original), out _, out _);

    /// <summary>Polls the datapath (its thread is the test's) until <paramref name="done"/> holds or the time is up.</summary>
    public bool PollUntil(Func<bool> done, TimeSpan limit, Action? between = null)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        while (DateTimeOffset.UtcNow < deadline)
        {
            Datapath.Poll();
            if (done())
                return true;
            between?.Invoke();
            Thread.Sleep(20);
        }
        Datapath.Poll();
        return done();
    }

    public List<ConntrackToolLine> KernelList() => ConntrackToolLine.ParseAll(Ns.Exec("conntrack", "-L", "-o", "extended"));

    public void Dispose()
    {
        Sync.Dispose();
        Datapath.Dispose();
        Backend.Dispose();
        Ns.Dispose();
    }

    private sealed class NullSink : IFrameSink
    {
        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
        }
    }
}

/// <summary>Maps our addresses (and loopback) to vm1's keys; counts calls (from the sync thread).</summary>
internal sealed class TestResolver : IKernelConnectionResolver
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Entries with this source port make the resolver throw (a resolver bug).</summary>
    public ushort ThrowForSourcePort { get; set; }

    public bool TryResolveDatapathKey(in KernelConntrackEntry entry, out FlowKey originalKey)
    {
        Interlocked.Increment(ref _calls);
        if (entry.Original.SourcePort == ThrowForSourcePort)
            throw new InvalidOperationException("resolver failed");
        string source = entry.Original.Source.ToString();
        if (source.StartsWith(SyncBed.OurPrefix, StringComparison.Ordinal) || source == "127.0.0.1")
        {
            originalKey = SyncBed.KeyOf(entry.Original);
            return true;
        }
        originalKey = default;
        return false;
    }
}

/// <summary>A slow path that is never asked here (connections are imported) but is told of removals, with the reason.</summary>
internal sealed class RecordingSlowPath : ISlowPath, ISlowPathObserver
{
    public ConcurrentQueue<(ConnectionInfo Info, ConntrackRemoveReason Reason)> Removed { get; } = new();

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) =>
        new(SlowPathDecision.Drop(DropReason.NoRoute));

    public void OnConnectionRemoved(in ConnectionInfo connection) => Removed.Enqueue((connection, ConntrackRemoveReason.Explicit));

    public void OnConnectionRemoved(in ConnectionInfo connection, ConntrackRemoveReason reason) => Removed.Enqueue((connection, reason));

    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision)
    {
    }

    public IEnumerable<ConntrackRemoveReason> ReasonsFor(ushort sourcePort) =>
        Removed.Where(r => r.Info.Original.SrcPort == sourcePort).Select(r => r.Reason);
}

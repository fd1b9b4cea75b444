using Offload.Conntrack;
using Offload.Datapath;

namespace Offload.Tests.Datapath;

/// <summary>The static slow path, also told (as a kernel slow path would be) which connections ended and why.</summary>
internal sealed class ObservingSlowPath(StaticSlowPath inner) : ISlowPath, ISlowPathObserver
{
    public List<(ConnectionInfo Info, ConntrackRemoveReason Reason)> Removed { get; } = new();

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) =>
        inner.DecideAsync(request, cancellationToken);

    public void OnConnectionRemoved(in ConnectionInfo connection) =>
        throw new InvalidOperationException("the datapath calls the overload with the reason");

    public void OnConnectionRemoved(in ConnectionInfo connection, ConntrackRemoveReason reason) => Removed.Add((connection, reason));

    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision)
    {
    }
}

/// <summary>An observer written before the reason existed: only the one-argument overload.</summary>
internal sealed class ReasonlessObservingSlowPath(StaticSlowPath inner) : ISlowPath, ISlowPathObserver
{
    public List<ConnectionInfo> Removed { get; } = new();

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) =>
        inner.DecideAsync(request, cancellationToken);

    public void OnConnectionRemoved(in ConnectionInfo connection) => Removed.Add(connection);

    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision)
    {
    }
}

/// <summary>Records every activity report part.</summary>
internal sealed class RecordingActivityObserver : IConnectionActivityObserver
{
    public List<(ConnectionActivity[] Connections, bool EndOfReport)> Parts { get; } = new();

    public bool Throw { get; set; }

    public void OnActivity(ReadOnlySpan<ConnectionActivity> connections, bool endOfReport)
    {
        Parts.Add((connections.ToArray(), endOfReport));
        if (Throw)
            throw new InvalidOperationException("observer failed");
    }

    public int Reports => Parts.Count(p => p.EndOfReport);

    public IEnumerable<ConnectionActivity> All => Parts.SelectMany(p => p.Connections);
}

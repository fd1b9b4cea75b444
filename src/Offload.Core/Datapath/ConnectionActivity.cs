using System.Runtime.InteropServices;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Datapath;

/// <summary>A connection that carried fast-path packets since the previous activity report.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct ConnectionActivity : IEquatable<ConnectionActivity>
{
    /// <summary>Creates a record.</summary>
    public ConnectionActivity(in FlowKey original, ConnState state, long lastSeenTicks, TimeSpan timeoutRemaining)
    {
        Original = original;
        State = state;
        LastSeenTicks = lastSeenTicks;
        TimeoutRemaining = timeoutRemaining;
    }

    /// <summary>The connection's original-direction key (its 5-tuple is the slow path's original tuple).</summary>
    public FlowKey Original { get; }

    /// <summary>The connection's state in the datapath's conntrack.</summary>
    public ConnState State { get; }

    /// <summary>Time of its last packet, in the datapath's <see cref="TimeProvider.GetTimestamp"/> ticks.</summary>
    public long LastSeenTicks { get; }

    /// <summary>Time left before the datapath expires it, when the report was made.</summary>
    public TimeSpan TimeoutRemaining { get; }

    /// <inheritdoc/>
    public bool Equals(ConnectionActivity other) =>
        Original.Equals(other.Original) && State == other.State && LastSeenTicks == other.LastSeenTicks
        && TimeoutRemaining == other.TimeoutRemaining;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ConnectionActivity other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Original, State, LastSeenTicks, TimeoutRemaining);

    /// <summary>Equality.</summary>
    public static bool operator ==(ConnectionActivity left, ConnectionActivity right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ConnectionActivity left, ConnectionActivity right) => !left.Equals(right);
}

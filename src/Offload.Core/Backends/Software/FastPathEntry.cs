using System.Runtime.InteropServices;
using Offload.Actions;
using Offload.Conntrack;

namespace Offload.Backends.Software;

/// <summary>
/// What the software fast path stores per flow, inline in the flow table: the shared action program
/// (by id), the connection's own NAT rewrite, and the conntrack entry the flow belongs to.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct FastPathEntry
{
    /// <summary>Id of the action program in the backend's <see cref="ActionProgramRegistry"/>.</summary>
    public readonly int ProgramId;
    /// <summary>Idle timeout in seconds (0 = none) for aging reports.</summary>
    public readonly uint IdleTimeoutSeconds;
    /// <summary>The connection's NAT rewrite for this direction.</summary>
    public readonly NatRewrite Nat;
    /// <summary>The connection this flow belongs to (<see cref="ConnectionId.None"/> for untracked flows such as drops).</summary>
    public readonly ConnectionId Connection;
    /// <summary>Direction of <see cref="Connection"/> this flow carries.</summary>
    public readonly ConnDirection Direction;
    /// <summary>Set once the flow was reported aged, so it is reported once.</summary>
    public readonly bool AgedReported;

    /// <summary>Creates an entry.</summary>
    public FastPathEntry(int programId, in NatRewrite nat, ConnectionId connection, ConnDirection direction, uint idleTimeoutSeconds, bool agedReported = false)
    {
        ProgramId = programId;
        IdleTimeoutSeconds = idleTimeoutSeconds;
        Nat = nat;
        Connection = connection;
        Direction = direction;
        AgedReported = agedReported;
    }

    /// <summary>A copy marked as reported aged.</summary>
    public FastPathEntry WithAgedReported() => new(ProgramId, Nat, Connection, Direction, IdleTimeoutSeconds, agedReported: true);
}

namespace Offload.Conntrack;

/// <summary>Outcome of <see cref="ConntrackTable.TryCreate(in Flows.FlowKey, in Flows.FlowKey, in Packets.ParsedPacket, out ConnectionId)"/>.</summary>
public enum ConntrackCreateResult : byte
{
    /// <summary>A new connection was created.</summary>
    Created = 0,
    /// <summary>One of the two tuples already belongs to a connection; its id is returned.</summary>
    Exists,
    /// <summary>The table is full and no entry could be early-dropped (every entry is assured).</summary>
    Full,
    /// <summary>The packet cannot start a connection (e.g. a TCP RST, FIN or SYN/ACK, an invalid flag
    /// combination, an ICMP reply or error).</summary>
    Invalid,
}

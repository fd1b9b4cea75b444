namespace Offload.Conntrack;

/// <summary>Which tuple of a connection a packet matched.</summary>
public enum ConnDirection : byte
{
    /// <summary>The direction of the first packet.</summary>
    Original = 0,
    /// <summary>The answering direction.</summary>
    Reply = 1,
}

namespace Offload.Kernel.Netlink;

/// <summary>Receives one data message of a reply; the message is only valid during the call.</summary>
public delegate void NetlinkMessageHandler<TState>(TState state, NetlinkMessage message);

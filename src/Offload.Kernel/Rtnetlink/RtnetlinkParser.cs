using System.Buffers.Binary;
using System.Text;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Rtnetlink;

/// <summary>Reads RTM_NEWLINK messages. Never throws: a message too short or with malformed attributes yields false.</summary>
internal static class RtnetlinkParser
{
    internal static bool TryParseLink(ReadOnlySpan<byte> payload, out LinkInfo? link)
    {
        link = null;
        if (payload.Length < RtnetlinkConstants.InfoHeaderSize)
            return false;
        int index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        string? name = null, kind = null, alias = null;
        var mac = default(MacAddress);
        int mtu = 0, master = 0;
        byte operState = 0;
        var reader = new NetlinkAttributeReader(payload[RtnetlinkConstants.InfoHeaderSize..]);
        while (reader.TryRead(out NetlinkAttribute a))
        {
            switch (a.Type)
            {
                case RtnetlinkConstants.IflaIfName:
                    name = CString(a.Payload);
                    break;
                case RtnetlinkConstants.IflaAddress when a.Payload.Length == 6:
                    mac = MacAddress.Read(a.Payload);
                    break;
                case RtnetlinkConstants.IflaMtu when a.Payload.Length == 4:
                    mtu = BinaryPrimitives.ReadInt32LittleEndian(a.Payload);
                    break;
                case RtnetlinkConstants.IflaMaster when a.Payload.Length == 4:
                    master = BinaryPrimitives.ReadInt32LittleEndian(a.Payload);
                    break;
                case RtnetlinkConstants.IflaOperState when a.Payload.Length == 1:
                    operState = a.Payload[0];
                    break;
                case RtnetlinkConstants.IflaIfAlias:
                    alias = CString(a.Payload);
                    break;
                case RtnetlinkConstants.IflaLinkInfo:
                    var info = a.Nested();
                    while (info.TryRead(out NetlinkAttribute i))
                    {
                        if (i.Type == RtnetlinkConstants.InfoKind)
                            kind = CString(i.Payload);
                    }
                    if (info.Error != NetlinkParseError.None)
                        return false;
                    break;
            }
        }
        if (reader.Error != NetlinkParseError.None || name is null)
            return false;
        link = new LinkInfo(index, name, mac, mtu, flags, master, kind, string.IsNullOrEmpty(alias) ? null : alias)
        {
            OperState = (LinkOperState)operState,
        };
        return true;
    }

    private static string CString(ReadOnlySpan<byte> payload)
    {
        int end = payload.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? payload : payload[..end]);
    }
}

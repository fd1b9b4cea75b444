using System.Buffers.Binary;
using System.Text;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Rtnetlink;

/// <summary>rtnetlink's host-order and string attributes on top of <see cref="NetlinkMessageBuilder"/>.</summary>
internal static class RtnetlinkWriter
{
    internal static void AddUInt32(this NetlinkMessageBuilder builder, ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        builder.AddAttribute(type, v);
    }

    // rtnetlink names and kinds are C strings: the terminating NUL is part of the payload.
    internal static void AddString(this NetlinkMessageBuilder builder, ushort type, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Span<byte> v = length < 256 ? stackalloc byte[length + 1] : new byte[length + 1];
        Encoding.UTF8.GetBytes(value, v);
        v[length] = 0;
        builder.AddAttribute(type, v);
    }

    internal static void AddMac(this NetlinkMessageBuilder builder, ushort type, MacAddress mac)
    {
        Span<byte> v = stackalloc byte[6];
        mac.WriteTo(v);
        builder.AddAttribute(type, v);
    }

    internal static void AddAddress(this NetlinkMessageBuilder builder, ushort type, NetAddress address)
    {
        Span<byte> v = stackalloc byte[16];
        int length = address.WriteTo(v);
        builder.AddAttribute(type, v[..length]);
    }

    /// <summary>struct ifinfomsg.</summary>
    internal static void AddInfoHeader(this NetlinkMessageBuilder builder, int index, uint flags = 0, uint change = 0, byte family = RtnetlinkConstants.FamilyUnspec)
    {
        Span<byte> h = stackalloc byte[RtnetlinkConstants.InfoHeaderSize];
        h.Clear();
        h[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], change);
        builder.AddFamilyHeader(h);
    }

    internal static byte FamilyOf(NetAddress address) => address.IsV4 ? RtnetlinkConstants.FamilyInet : RtnetlinkConstants.FamilyInet6;
}

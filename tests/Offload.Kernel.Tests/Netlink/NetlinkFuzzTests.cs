using CsCheck;
using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.Netlink;

public sealed class NetlinkFuzzTests
{
    // Walks every message and, recursively, every attribute as if nested: the deepest a consumer could go.
    private static int Walk(ReadOnlySpan<byte> datagram)
    {
        int seen = 0;
        var messages = new NetlinkMessageReader(datagram);
        while (messages.TryRead(out NetlinkMessage m))
        {
            seen++;
            seen += WalkAttributes(m.Payload, 0);
            NetlinkMessageReader.TryReadError(m.Payload, out _);
        }
        return seen;
    }

    private static int WalkAttributes(ReadOnlySpan<byte> attributes, int depth)
    {
        int seen = 0;
        var reader = new NetlinkAttributeReader(attributes);
        while (reader.TryRead(out NetlinkAttribute a))
        {
            seen++;
            a.TryGetUInt32BigEndian(out _);
            a.TryGetUInt64BigEndian(out _);
            if (depth < 4)
                seen += WalkAttributes(a.Payload, depth + 1);
        }
        return seen;
    }

    [Fact]
    public void Readers_RandomBytes_NeverThrowAndConsumeOnlyTheBuffer()
    {
        Gen.Byte.Array[0, 512].Sample(bytes =>
        {
            int seen = Walk(bytes);
            // Each message is at least 16 bytes and each attribute at least 4: anything more would mean reading outside.
            seen.Should().BeLessThanOrEqualTo(bytes.Length);
        }, iter: 20_000);
    }

    [Fact]
    public void Readers_RandomBytesBehindAValidHeader_NeverThrow()
    {
        Gen.Byte.Array[0, 256].Sample(tail =>
        {
            byte[] datagram = new byte[16 + tail.Length];
            BitConverter.TryWriteBytes(datagram.AsSpan(0, 4), (uint)datagram.Length);
            tail.CopyTo(datagram, 16);
            Walk(datagram).Should().BeGreaterThanOrEqualTo(1);
        }, iter: 20_000);
    }
}

using System.Buffers.Binary;
using System.Text.Json;
using Offload.Kernel.Devices;
using Offload.Kernel.Rtnetlink;
using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;
using TestNamespace = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.Devices;

public sealed class TapDeviceKernelTests
{
    private static JsonElement IpLink(TestNamespace ns, string name) =>
        JsonDocument.Parse(ns.Exec("ip", "-d", "-j", "link", "show", "dev", name)).RootElement[0];

    [RootFact]
    public void Create_InNamespace_TapWithoutPacketInfoNotPersistent()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("tap0", ns.Namespace);

        JsonElement info = IpLink(ns, "tap0").GetProperty("linkinfo");
        info.GetProperty("info_kind").GetString().Should().Be("tun");
        JsonElement data = info.GetProperty("info_data");
        data.GetProperty("type").GetString().Should().Be("tap");
        data.GetProperty("pi").GetBoolean().Should().BeFalse();
        data.GetProperty("persist").GetBoolean().Should().BeFalse();
        data.GetProperty("multi_queue").GetBoolean().Should().BeFalse();
        tap.Index.Should().Be(IpLink(ns, "tap0").GetProperty("ifindex").GetInt32());
        tap.Describe().Kind.Should().Be("tun");
    }

    [RootFact]
    public void Dispose_Tap_DeviceRemovedByKernel()
    {
        using TestNamespace ns = TestNamespace.Create();
        TapDevice.Create("tap0", ns.Namespace).Dispose();

        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        client.FindLink("tap0").Should().BeNull();
    }

    [RootFact]
    public void Create_FourQueues_MultiQueueDeviceWithFourDescriptors()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("mq0", ns.Namespace, queues: 4);

        tap.QueueCount.Should().Be(4);
        IpLink(ns, "mq0").GetProperty("linkinfo").GetProperty("info_data").GetProperty("multi_queue").GetBoolean().Should().BeTrue();
        IpLink(ns, "mq0").GetProperty("num_tx_queues").GetInt32().Should().BeGreaterThanOrEqualTo(4);
    }

    [RootFact]
    public void SetMtuAndMac_Tap_IpSeesThem()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("tap0", ns.Namespace, alias: "offload:t");

        tap.SetMtu(1450);
        tap.SetMac(MacAddress.Parse("02:aa:bb:cc:dd:ee"));

        JsonElement ip = IpLink(ns, "tap0");
        ip.GetProperty("mtu").GetInt32().Should().Be(1450);
        ip.GetProperty("address").GetString().Should().Be("02:aa:bb:cc:dd:ee");
        ip.GetProperty("ifalias").GetString().Should().Be("offload:t");
    }

    [RootFact]
    public void TryRead_NothingWaiting_FalseWithoutError()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("tap0", ns.Namespace);

        tap.TryRead(new byte[2048], out int length).Should().BeFalse();
        (length, tap.LastErrno).Should().Be((0, 0));
    }

    [RootFact]
    public void TryWriteThenTryRead_GuestPingsHost_KernelAnswersThroughTap()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("tap0", ns.Namespace);
        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        var hostMac = MacAddress.Parse("02:00:00:00:01:01");
        var guestMac = MacAddress.Parse("02:00:00:00:01:02");
        tap.SetMac(hostMac);
        tap.SetUp();
        client.AddAddress(tap.Index, NetAddress.Parse("10.77.0.1"), 24);
        // The host must not ARP for the guest: the test plays the guest and answers nothing but the echo.
        client.AddNeighbour(tap.Index, NetAddress.Parse("10.77.0.2"), guestMac);
        byte[] payload = "offload-tap-echo"u8.ToArray();

        tap.TryWrite(TestFrames.EchoRequest(hostMac, guestMac, TestFrames.V4("10.77.0.2"), TestFrames.V4("10.77.0.1"), 0x4242, 7, payload))
            .Should().BeTrue();

        byte[] reply = ReadUntil(tap, f => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x0800 && f[23] == 1);
        MacAddress.Read(reply).Should().Be(guestMac);
        MacAddress.Read(reply.AsSpan(6)).Should().Be(hostMac);
        reply[34].Should().Be(0, "an ICMP echo reply");
        BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(38)).Should().Be(0x4242);
        BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(40)).Should().Be(7);
        reply.AsSpan(42).ToArray().Should().Equal(payload);
    }

    [RootFact]
    public void ReadBatch_SeveralFramesQueued_AllInOneBatch()
    {
        using TestNamespace ns = TestNamespace.Create();
        using TapDevice tap = TapDevice.Create("tap0", ns.Namespace);
        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        var guestMac = MacAddress.Parse("02:00:00:00:01:02");
        tap.SetUp();
        client.AddAddress(tap.Index, NetAddress.Parse("10.77.0.1"), 24);
        client.AddNeighbour(tap.Index, NetAddress.Parse("10.77.0.2"), guestMac);
        ns.Enter(() =>
        {
            using var udp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            for (int i = 0; i < 5; i++)
                udp.SendTo(new byte[] { (byte)i }, new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.77.0.2"), 9000));
            return 0;
        });
        var batch = new Offload.Kernel.PacketIo.PacketBatch(capacity: 16);

        Thread.Sleep(50);
        tap.ReadBatch(batch);

        var udpPayloads = new List<byte>();
        for (int i = 0; i < batch.Count; i++)
        {
            Span<byte> f = batch.Frame(i);
            if (BinaryPrimitives.ReadUInt16BigEndian(f[12..]) == 0x0800 && f[23] == 17)
                udpPayloads.Add(f[42]);
            batch[i].Headroom.Should().BeGreaterThanOrEqualTo(PacketBuffer.DefaultHeadroom);
        }
        udpPayloads.Should().Equal(0, 1, 2, 3, 4);
    }

    internal static byte[] ReadUntil(TapDevice tap, Func<byte[], bool> wanted)
    {
        var buffer = new byte[2048];
        var deadline = DateTimeOffset.UtcNow.AddSeconds(3);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (tap.TryRead(buffer, out int length))
            {
                byte[] frame = buffer.AsSpan(0, length).ToArray();
                if (wanted(frame))
                    return frame;
                continue;
            }
            Thread.Sleep(5);
        }
        throw new TimeoutException("no wanted frame from the TAP within 3 s");
    }
}

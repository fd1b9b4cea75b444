using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Offload.Kernel.Devices;
using Offload.Kernel.PacketIo;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;
using TestNamespace = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>A "host" namespace and a "VM" namespace joined by a veth: vh0 (host end) — eth0 (the VM's vNIC).</summary>
public sealed class PacketSocketKernelTests : IDisposable
{
    private readonly TestNamespace _host = TestNamespace.Create();
    private readonly TestNamespace _vm = TestNamespace.Create();
    private readonly RtnetlinkClient _hostLinks;
    private readonly RtnetlinkClient _vmLinks;
    private readonly int _hostIndex;
    private readonly int _vmIndex;
    private readonly MacAddress _hostMac = MacAddress.Parse("02:00:00:00:00:01");
    private readonly MacAddress _vmMac = MacAddress.Parse("02:00:00:00:00:02");

    public PacketSocketKernelTests()
    {
        _hostLinks = RtnetlinkClient.Open(_host.Namespace);
        _vmLinks = RtnetlinkClient.Open(_vm.Namespace);
        _hostIndex = _hostLinks.CreateVeth("vh0", "eth0", _vm.Namespace);
        _vmIndex = _vmLinks.GetIndex("eth0");
        _hostLinks.SetMac(_hostIndex, _hostMac);
        _vmLinks.SetMac(_vmIndex, _vmMac);
        _hostLinks.SetUp(_hostIndex);
        _vmLinks.SetUp(_vmIndex);
        Hosts.LinkWait.UntilRunning(_hostLinks, "vh0");
        Hosts.LinkWait.UntilRunning(_vmLinks, "eth0");
    }

    public void Dispose()
    {
        _hostLinks.Dispose();
        _vmLinks.Dispose();
        _vm.Dispose();
        _host.Dispose();
    }

    private static bool IsExperimental(ReadOnlySpan<byte> frame) =>
        frame.Length >= 14 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == TestFrames.Experimental;

    private static byte[] Frame(MacAddress dst, MacAddress src, int i, int size)
    {
        var payload = new byte[size];
        new Random(i).NextBytes(payload);
        BinaryPrimitives.WriteInt32BigEndian(payload, i);
        return TestFrames.Raw(dst, src, payload);
    }

    // Receives until `count` experimental frames arrived (other traffic, e.g. IPv6 neighbour discovery, is skipped).
    private static List<byte[]> ReceiveExperimental(PacketSocket socket, PacketBatch batch, int count, int timeoutMs = 3000)
    {
        var frames = new List<byte[]>();
        var deadline = DateTimeOffset.UtcNow.AddMilliseconds(timeoutMs);
        while (frames.Count < count && DateTimeOffset.UtcNow < deadline)
        {
            batch.Clear();
            if (socket.Receive(batch) == 0)
            {
                Thread.Sleep(2);
                continue;
            }
            for (int i = 0; i < batch.Count; i++)
            {
                if (IsExperimental(batch.Frame(i)))
                    frames.Add(batch.Frame(i).ToArray());
            }
        }
        return frames;
    }

    [RootFact]
    public void Receive_FramesSentByVm_ArriveOnHostEndIntactAndInOrder()
    {
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace);
        using PacketSocket vmSocket = PacketSocket.Open(_vmIndex, _vm.Namespace);
        var sent = new List<byte[]>();
        var outgoing = new PacketBatch(capacity: 32);
        for (int i = 0; i < 32; i++)
        {
            sent.Add(Frame(_hostMac, _vmMac, i, 46 + i * 40));
            outgoing.TryAdd(sent[i]).Should().BeTrue();
        }

        vmSocket.Send(outgoing).Should().Be(32);
        List<byte[]> received = ReceiveExperimental(hostSocket, new PacketBatch(capacity: 8), 32);

        received.Should().HaveCount(32);
        for (int i = 0; i < 32; i++)
            received[i].Should().Equal(sent[i], "frame {0} arrives byte for byte", i);
        hostSocket.GetStatistics().Drops.Should().Be(0);
    }

    [RootFact]
    public void Send_UdpFramesFromHost_VmUdpSocketReceivesPayloads()
    {
        _vmLinks.AddAddress(_vmIndex, NetAddress.Parse("10.50.0.2"), 24);
        using Socket server = _vm.Namespace.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.50.0.2"), 5555));
            return s;
        });
        server.ReceiveTimeout = 3000;
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace);
        var batch = new PacketBatch(capacity: 10);
        for (int i = 0; i < 10; i++)
        {
            byte[] payload = [.. "payload-"u8, (byte)('0' + i)];
            batch.TryAdd(TestFrames.Udp(_vmMac, _hostMac, TestFrames.V4("10.50.0.1"), TestFrames.V4("10.50.0.2"), 40000, 5555, payload));
        }

        hostSocket.Send(batch).Should().Be(10);

        var buffer = new byte[100];
        var got = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            int n = server.Receive(buffer);
            got.Add(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }
        got.Should().Equal(Enumerable.Range(0, 10).Select(i => $"payload-{i}"));
    }

    [RootFact]
    public void GetStatistics_ReceiverNeverReads_DropsCounted()
    {
        // The smallest receive buffer the kernel allows holds only a couple of frames.
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace, receiveBufferBytes: 1);
        using PacketSocket vmSocket = PacketSocket.Open(_vmIndex, _vm.Namespace);
        var batch = new PacketBatch(capacity: 64);
        for (int i = 0; i < 64; i++)
            batch.TryAdd(Frame(_hostMac, _vmMac, i, 1000));
        for (int round = 0; round < 4; round++)
            vmSocket.Send(batch).Should().Be(64);

        PacketSocketStatistics stats = hostSocket.GetStatistics();

        stats.Drops.Should().BeGreaterThan(0);
        stats.Packets.Should().BeGreaterThanOrEqualTo(256, "the count includes the dropped frames");
        List<byte[]> kept = ReceiveExperimental(hostSocket, new PacketBatch(capacity: 64), 256, timeoutMs: 300);
        // Only what fitted in the tiny queue is left (possibly none of ours, if neighbour discovery got there first).
        kept.Count.Should().BeLessThan(256);
        hostSocket.GetStatistics().Drops.Should().BeGreaterThanOrEqualTo(stats.Drops, "counters are cumulative across reads");
    }

    [RootFact]
    public void Receive_FrameLargerThanSlot_DiscardedAndCountedNeighboursKept()
    {
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace);
        using PacketSocket vmSocket = PacketSocket.Open(_vmIndex, _vm.Namespace);
        vmSocket.TrySend(Frame(_hostMac, _vmMac, 1, 50)).Should().BeTrue();
        vmSocket.TrySend(Frame(_hostMac, _vmMac, 2, 400)).Should().BeTrue();
        vmSocket.TrySend(Frame(_hostMac, _vmMac, 3, 60)).Should().BeTrue();

        List<byte[]> received = ReceiveExperimental(hostSocket, new PacketBatch(capacity: 8, frameSize: 128), 2);

        received.Select(f => BinaryPrimitives.ReadInt32BigEndian(f.AsSpan(14))).Should().Equal(1, 3);
        hostSocket.GetStatistics().Truncated.Should().Be(1);
    }

    [RootFact]
    public void Open_IgnoreOutgoing_OwnFramesNotReceivedUnlessAsked()
    {
        using PacketSocket quiet = PacketSocket.Open(_hostIndex, _host.Namespace, ignoreOutgoing: true);
        using PacketSocket mirror = PacketSocket.Open(_hostIndex, _host.Namespace, ignoreOutgoing: false);

        quiet.TrySend(Frame(_vmMac, _hostMac, 9, 50)).Should().BeTrue();

        ReceiveExperimental(mirror, new PacketBatch(capacity: 4), 1).Should().ContainSingle();
        ReceiveExperimental(quiet, new PacketBatch(capacity: 4), 1, timeoutMs: 200).Should().BeEmpty();
    }

    [RootFact]
    public void Receive_InterfaceTakenDown_ZeroFramesAndEnetdownNoException()
    {
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace);
        hostSocket.LastErrno.Should().Be(0);
        _hostLinks.SetUp(_hostIndex, up: false);
        var batch = new PacketBatch(capacity: 4);

        // The kernel reports a dead device to a bound packet socket once, as ENETDOWN.
        hostSocket.Receive(batch).Should().Be(0);
        (batch.Count, hostSocket.LastErrno).Should().Be((0, 100));
    }

    [RootFact]
    public void Open_UnknownInterface_IOExceptionNamesBind()
    {
        Action open = () => PacketSocket.Open(99999, _host.Namespace);
        open.Should().Throw<IOException>().WithMessage("bind(AF_PACKET, ifindex 99999)*");
    }

    [RootFact]
    public void ReceiveAndSend_SteadyState_NoManagedAllocation()
    {
        using PacketSocket hostSocket = PacketSocket.Open(_hostIndex, _host.Namespace);
        using PacketSocket vmSocket = PacketSocket.Open(_vmIndex, _vm.Namespace);
        var outgoing = new PacketBatch(capacity: 16);
        for (int i = 0; i < 16; i++)
            outgoing.TryAdd(Frame(_hostMac, _vmMac, i, 100));
        var incoming = new PacketBatch(capacity: 16);
        vmSocket.Send(outgoing);
        Thread.Sleep(20);
        hostSocket.Receive(incoming);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int received = 0;
        for (int round = 0; round < 20; round++)
        {
            vmSocket.Send(outgoing);
            incoming.Clear();
            received += hostSocket.Receive(incoming);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        received.Should().BeGreaterThan(0);
    }

    [RootFact]
    public void ForwardBetweenVethAndTap_VmPingsHostStackBehindTap_Answered()
    {
        // A minimal software datapath: frames from the VM's vNIC (host end vh0) go into a TAP whose far side is the
        // host's own stack (10.60.0.1), and everything the stack sends out of the TAP goes back to the VM.
        using TapDevice tap = TapDevice.Create("tap0", _host.Namespace);
        tap.SetUp();
        _hostLinks.AddAddress(tap.Index, NetAddress.Parse("10.60.0.1"), 24);
        _vmLinks.AddAddress(_vmIndex, NetAddress.Parse("10.60.0.2"), 24);
        using PacketSocket vnic = PacketSocket.Open(_hostIndex, _host.Namespace);
        using var stop = new CancellationTokenSource();
        long toTap = 0, toVm = 0;
        var forwarder = new Thread(() =>
        {
            var fromVm = new PacketBatch(capacity: 32);
            var fromTap = new PacketBatch(capacity: 32);
            while (!stop.IsCancellationRequested)
            {
                fromVm.Clear();
                vnic.Receive(fromVm);
                for (int i = 0; i < fromVm.Count; i++)
                {
                    if (tap.TryWrite(fromVm.Frame(i)))
                        toTap++;
                }
                fromTap.Clear();
                tap.ReadBatch(fromTap);
                toVm += vnic.Send(fromTap);
                if (fromVm.Count == 0 && fromTap.Count == 0)
                    Thread.Sleep(1);
            }
        });
        forwarder.Start();
        bool answered;
        try
        {
            answered = _vm.Namespace.Run(() =>
            {
                using var ping = new System.Net.NetworkInformation.Ping();
                return ping.Send(IPAddress.Parse("10.60.0.1"), 3000).Status == System.Net.NetworkInformation.IPStatus.Success;
            });
        }
        finally
        {
            stop.Cancel();
            forwarder.Join();
        }

        answered.Should().BeTrue();
        toTap.Should().BeGreaterThanOrEqualTo(2, "the VM's ARP request and echo request went through the TAP");
        toVm.Should().BeGreaterThanOrEqualTo(2, "the host's ARP reply and echo reply came back from it");
    }

    [RootFact]
    public void Receive_VlanTaggedFrameFromVm_TagRestoredUnlessDisabled()
    {
        using PacketSocket restoring = PacketSocket.Open(_hostIndex, _host.Namespace);
        using PacketSocket raw = PacketSocket.Open(_hostIndex, _host.Namespace, restoreVlanTags: false);
        using PacketSocket vmSocket = PacketSocket.Open(_vmIndex, _vm.Namespace);
        byte[] inner = Frame(_hostMac, _vmMac, 5, 80);
        // dst, src, 802.1Q tag (VLAN 100, priority 3), then the experimental EtherType and payload.
        byte[] tagged = [.. inner.AsSpan(0, 12), 0x81, 0x00, 0x60, 0x64, .. inner.AsSpan(12)];

        vmSocket.TrySend(tagged).Should().BeTrue();

        byte[] restored = ReceiveTagged(restoring);
        restored.Should().Equal(tagged);
        byte[] stripped = ReceiveTagged(raw);
        stripped.Should().Equal(inner, "without PACKET_AUXDATA the kernel's stripping shows");
    }

    private static byte[] ReceiveTagged(PacketSocket socket)
    {
        var batch = new PacketBatch(capacity: 8);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(3);
        while (DateTimeOffset.UtcNow < deadline)
        {
            batch.Clear();
            socket.Receive(batch);
            for (int i = 0; i < batch.Count; i++)
            {
                Span<byte> f = batch.Frame(i);
                ushort type = BinaryPrimitives.ReadUInt16BigEndian(f[12..]);
                if (type == TestFrames.Experimental || (type == 0x8100 && BinaryPrimitives.ReadUInt16BigEndian(f[16..]) == TestFrames.Experimental))
                    return f.ToArray();
            }
            Thread.Sleep(2);
        }
        throw new TimeoutException("no test frame within 3 s");
    }
}

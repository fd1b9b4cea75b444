using Offload.Kernel.PacketIo;
using Offload.Kernel.Tests.Hosts;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>
/// The packet pump between real interfaces and a switch with the policy slow path: two VM namespaces whose veths end
/// in a host namespace, every frame between them carried by AF_PACKET sockets through the datapath.
/// </summary>
public sealed class PacketPumpKernelTests
{
    [RootFact]
    public void Run_TcpTransferVm1ToVm2_PayloadIntactAndCarriedMostlyByFastPath()
    {
        using var lab = new PumpedSwitchLab();
        lab.Start();

        var result = TestTraffic.Tcp(lab.Vm2, lab.Vm2.Address, lab.Vm1, bytes: 1 << 20);
        lab.StopPump();

        result.Intact.Should().BeTrue("the SHA-256 of what vm2 read equals that of what vm1 sent");
        result.BytesReceived.Should().Be(1 << 20);
        var stats = lab.Stats();
        stats.FlowsInstalled.Should().BeGreaterThanOrEqualTo(2, "the connection's two directions were offloaded");
        stats.FastPathFrames.Should().BeGreaterThan(stats.SlowPathFrames * 10, "after the handshake the segments took the fast path");
        stats.FastPathFrames.Should().BeGreaterThan(700, "1 MiB is over 700 full-size segments");
        var vm1 = lab.PortStats("vm1");
        var vm2 = lab.PortStats("vm2");
        vm1.ReceivedBytes.Should().BeGreaterThan(1 << 20, "every byte vm1 sent was read from its vNIC");
        vm2.SentBytes.Should().BeGreaterThan(1 << 20, "and sent into vm2's");
        (vm1.SendErrors + vm2.SendErrors + vm1.ReceiveErrors + vm2.ReceiveErrors + vm1.Oversize + vm2.Oversize).Should().Be(0);
        lab.Pump.UnboundFrames.Should().Be(0);
    }

    [RootFact]
    public void Run_PingAndUdpEchoes_AnsweredAndVerified()
    {
        using var lab = new PumpedSwitchLab();
        lab.Start();

        bool pinged = lab.Vm1.Ping(lab.Vm2.Address, count: 3);
        int echoes = TestTraffic.UdpEcho(lab.Vm2, lab.Vm2.Address, lab.Vm1, count: 20);
        lab.StopPump();

        pinged.Should().BeTrue();
        echoes.Should().Be(20);
        lab.Stats().FastPathFrames.Should().BeGreaterThan(20, "the echoes after the first took the fast path");
        lab.PortStats("vm2").SentFrames.Should().BeGreaterThanOrEqualTo(23);
        lab.PortStats("vm1").SentFrames.Should().BeGreaterThanOrEqualTo(23, "the replies came back through vm1's vNIC");
    }

    [RootFact]
    public void Run_OutputInterfaceDown_SendErrorsCountedAndPumpGoesOn()
    {
        using var lab = new PumpedSwitchLab();
        lab.Start();
        lab.Vm1.Ping(lab.Vm2.Address).Should().BeTrue();
        lab.Host.Links.SetUp(lab.Vm2.HostSideIndex, up: false);

        lab.Vm1.Ping(lab.Vm2.Address).Should().BeFalse();
        lab.Host.Links.SetUp(lab.Vm2.HostSideIndex);
        LinkWait.UntilRunning(lab.Host.Links, "vm-vm2");
        LinkWait.UntilRunning(lab.Vm2.Links, "eth0");
        bool again = lab.Vm1.Ping(lab.Vm2.Address, count: 2);
        lab.StopPump();

        var vm2 = lab.PortStats("vm2");
        vm2.SendErrors.Should().BeGreaterThan(0, "the echo request forwarded while vm-vm2 was down was refused");
        vm2.LastErrno.Should().Be(100, "ENETDOWN");
        again.Should().BeTrue("the pump went on once the interface came back");
    }

    [RootFact]
    public void Attach_UnknownInterface_ArgumentExceptionNamesIt()
    {
        using var lab = new PumpedSwitchLab();

        var act = () => lab.Pump.Attach(40, "vm9", "no-such-if", lab.Host.Namespace);

        act.Should().Throw<ArgumentException>().WithMessage("*no network interface named 'no-such-if'*");
    }

    [RootFact]
    public void Attach_PortAttachedAlready_Refused()
    {
        using var lab = new PumpedSwitchLab();
        lab.Switch.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();

        var act = () => lab.Pump.Attach(vm1, "vm1", "lo", lab.Host.Namespace);

        act.Should().Throw<ArgumentException>().WithMessage("*attached to vm-vm1 already*");
    }

    [RootFact]
    public void RunOnce_SteadyStateFastPath_NoManagedAllocation()
    {
        using var lab = new PumpedSwitchLab();
        FrameBatchHandler handler = lab.Switch.Process;
        // vm1 → vm2 UDP frames written straight into vm1's eth0 by a packet socket in the VM; one reply from vm2
        // makes the connection established, so it is offloaded before the measurement.
        using var vmSide = PacketSocket.Open(lab.Vm1.Links.GetIndex("eth0"), lab.Vm1.Namespace);
        using var replySide = PacketSocket.Open(lab.Vm2.Links.GetIndex("eth0"), lab.Vm2.Namespace);
        var vm1Mac = MacAddress.Parse("02:00:00:01:00:01");
        var vm2Mac = MacAddress.Parse("02:00:00:01:00:02");
        byte[] frame = TestFrames.Udp(vm2Mac, vm1Mac, NetAddress.Parse("10.1.0.1").V4, NetAddress.Parse("10.1.0.2").V4, 40000, 9, new byte[64]);
        void SendAndPump(int frames)
        {
            for (int i = 0; i < frames; i++)
                vmSide.TrySend(frame).Should().BeTrue();
            int got = 0;
            for (int spins = 0; got < frames && spins < 200; spins++)
                got += lab.Pump.RunOnce(handler, 10);
        }
        byte[] reply = TestFrames.Udp(vm1Mac, vm2Mac, NetAddress.Parse("10.1.0.2").V4, NetAddress.Parse("10.1.0.1").V4, 9, 40000, new byte[64]);
        SendAndPump(4);
        replySide.TrySend(reply).Should().BeTrue();
        for (int spins = 0; spins < 20; spins++)
            lab.Pump.RunOnce(handler, 10);
        lab.Switch.Poll();
        SendAndPump(40);
        long fastBefore = lab.Stats().FastPathFrames;

        long before = GC.GetAllocatedBytesForCurrentThread();
        int received = 0;
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 16; i++)
                vmSide.TrySend(frame);
            for (int spins = 0; spins < 50 && received < (round + 1) * 16; spins++)
                received += lab.Pump.RunOnce(handler, 10);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        received.Should().BeGreaterThanOrEqualTo(320);
        (lab.Stats().FastPathFrames - fastBefore).Should().BeGreaterThanOrEqualTo(320, "the measured frames took the fast path");
        allocated.Should().Be(0);
        lab.PortStats("vm2").SentFrames.Should().BeGreaterThanOrEqualTo(320);
    }
}

/// <summary>Two hosts, each with its pump and switch, joined by an underlay: the VMs' traffic crosses it tunnelled.</summary>
public sealed class PacketPumpUnderlayKernelTests
{
    [RootFact]
    public void Run_VxlanBetweenHosts_TcpIntactAndTunnelFramesLeftThroughTheUplink() => TcpAcrossUnderlay("vxlan");

    [RootFact]
    public void Run_GreBetweenHosts_TcpIntactAndTunnelFramesLeftThroughTheUplink() => TcpAcrossUnderlay("gre");

    private static void TcpAcrossUnderlay(string tunnel)
    {
        using var lab = new TwoHostPumpLab(tunnel);
        lab.Start();

        bool pinged = lab.Vm1.Ping(lab.Vm3.Address, count: 2);
        var result = TestTraffic.Tcp(lab.Vm3, lab.Vm3.Address, lab.Vm1, bytes: 512 * 1024);
        lab.StopPumps();

        pinged.Should().BeTrue();
        result.Intact.Should().BeTrue("the SHA-256 of what vm3 read equals that of what vm1 sent");
        var uplinkA = lab.PumpA.GetStatistics().Single(s => s.PortName == "uplink");
        var uplinkB = lab.PumpB.GetStatistics().Single(s => s.PortName == "uplink");
        uplinkA.SentBytes.Should().BeGreaterThan(512 * 1024, "vm1's segments left host a through its underlay interface, encapsulated");
        uplinkB.ReceivedBytes.Should().BeGreaterThan(512 * 1024, "and arrived at host b's");
        uplinkB.SentFrames.Should().BeGreaterThan(0, "vm3's replies went back the same way");
        (uplinkA.SendErrors + uplinkB.SendErrors + uplinkA.Oversize + uplinkB.Oversize).Should().Be(0);
        lab.SwitchA.Datapath.GetStats().FastPathFrames.Should().BeGreaterThan(300);
        lab.SwitchB.Datapath.GetStats().FastPathFrames.Should().BeGreaterThan(300);
    }
}

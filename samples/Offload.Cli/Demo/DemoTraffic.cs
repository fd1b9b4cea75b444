using Offload.Datapath;
using Offload.Packets;

namespace Offload.Cli.Demo;

/// <summary>Generates the demo's traffic and feeds it to the datapath in batches, as a port would.</summary>
internal sealed class DemoTraffic(DemoTopology t, Datapath.Datapath datapath)
{
    private readonly List<InputFrame> _batch = new();

    /// <summary>vm1 → vm2:80 connections: handshake, data both ways, and a FIN close for some.</summary>
    public void TcpConnections(int count, int dataSegments, int closeEvery)
    {
        for (int c = 0; c < count; c++)
        {
            ushort sport = (ushort)(40000 + c);
            uint cs = 1000, ss = 9000;
            Client(TcpFlags.Syn, cs++, 0, 0);
            Server(TcpFlags.Syn | TcpFlags.Ack, ss++, cs, 0);
            Client(TcpFlags.Ack, cs, ss, 0);
            for (int d = 0; d < dataSegments; d++)
            {
                Client(TcpFlags.Ack | TcpFlags.Psh, cs, ss, 100);
                cs += 100;
                Server(TcpFlags.Ack | TcpFlags.Psh, ss, cs, 500);
                ss += 500;
            }
            if (c % closeEvery == 0)
            {
                Client(TcpFlags.Fin | TcpFlags.Ack, cs++, ss, 0);
                Server(TcpFlags.Fin | TcpFlags.Ack, ss++, cs, 0);
                Client(TcpFlags.Ack, cs, ss, 0);
            }
            Flush();

            void Client(TcpFlags f, uint seq, uint ack, int len) =>
                Add(DemoTopology.Vm1Port, DemoFrames.Tcp(t.Vm1Mac, t.GatewayMac, t.Vm1, sport, t.Vm2, 80, f, seq, ack, len));
            void Server(TcpFlags f, uint seq, uint ack, int len) =>
                Add(DemoTopology.Vm2Port, DemoFrames.Tcp(t.Vm2Mac, t.GatewayMac, t.Vm2, 80, t.Vm1, sport, f, seq, ack, len));
        }
    }

    /// <summary>vm1 → VIP:80, DNATed to a backend; the backend's replies are un-NATed.</summary>
    public void LoadBalancedConnections(int count)
    {
        for (int c = 0; c < count; c++)
        {
            ushort sport = (ushort)(50000 + c);
            Add(DemoTopology.Vm1Port, DemoFrames.Tcp(t.Vm1Mac, t.GatewayMac, t.Vm1, sport, t.Vip, 80, TcpFlags.Syn, 1, 0, 0));
            Flush();
        }
    }

    /// <summary>vm1 → vm3 (on host-b, VXLAN out of the uplink), and vm3's replies arriving over VXLAN.</summary>
    public void UdpToRemoteHost(int packets, int repliesOverVxlan)
    {
        for (int i = 0; i < packets; i++)
            Add(DemoTopology.Vm1Port, DemoFrames.Udp(t.Vm1Mac, t.GatewayMac, t.Vm1, 5353, t.Vm3, 53, 40));
        for (int i = 0; i < repliesOverVxlan; i++)
        {
            var inner = DemoFrames.Udp(t.Vm3Mac, t.GatewayMac, t.Vm3, 53, t.Vm1, 5353, 120);
            Add(DemoTopology.UplinkPort, DemoFrames.Vxlan(inner, DemoTopology.Vni, t.HostBMac, t.HostMac, t.HostBIp, t.HostIp, 49200));
        }
        Flush();
    }

    /// <summary>vm2 pings vm1.</summary>
    public void Ping(int count)
    {
        for (ushort s = 1; s <= count; s++)
        {
            Add(DemoTopology.Vm2Port, DemoFrames.Echo(t.Vm2Mac, t.GatewayMac, t.Vm2, t.Vm1, 0x4242, s, reply: false));
            Add(DemoTopology.Vm1Port, DemoFrames.Echo(t.Vm1Mac, t.GatewayMac, t.Vm1, t.Vm2, 0x4242, s, reply: true));
        }
        Flush();
    }

    /// <summary>vm1 tries SSH to vm2: denied, and the drop is cached in the fast path.</summary>
    public void DeniedSsh(int attempts)
    {
        for (int i = 0; i < attempts; i++)
            Add(DemoTopology.Vm1Port, DemoFrames.Tcp(t.Vm1Mac, t.GatewayMac, t.Vm1, 33333, t.Vm2, 22, TcpFlags.Syn, 7, 0, 0));
        Flush();
    }

    /// <summary>A truncated frame, a frame with a bad IPv4 header length, and a frame from an unknown port.</summary>
    public void BadInput()
    {
        Add(DemoTopology.Vm1Port, new byte[9]);
        var bad = DemoFrames.Udp(t.Vm1Mac, t.GatewayMac, t.Vm1, 1, t.Vm2, 2, 8);
        bad[14] = 0x42;
        Add(DemoTopology.Vm1Port, bad);
        Add(77, DemoFrames.Udp(t.Vm1Mac, t.GatewayMac, t.Vm1, 1, t.Vm2, 2, 8));
        Flush();
    }

    private void Add(ushort port, byte[] frame) =>
        _batch.Add(new InputFrame(PacketBuffer.CopyOf(frame), port, _batch.Count));

    private void Flush()
    {
        var frames = _batch.ToArray();
        datapath.Process(frames);
        datapath.Poll();
        _batch.Clear();
    }
}

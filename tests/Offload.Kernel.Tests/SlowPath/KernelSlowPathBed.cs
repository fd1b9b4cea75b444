using System.Buffers.Binary;
using Offload.Actions;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using NetnsHandle = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>
/// A real <see cref="Datapath.Datapath"/> whose slow path is a <see cref="KernelSlowPath"/> over a private namespace
/// built from a policy; frames go in through <see cref="Send"/> and every result is recorded.
/// </summary>
internal sealed class KernelSlowPathBed : IDisposable
{
    public const string Owner = "kslow-test";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(3);
    private readonly RecordingSink _sink = new();
    private long _cookie;

    public KernelSlowPathBed(PolicySnapshot policy, OffloadTrigger when = OffloadTrigger.FirstPacket, KernelSlowPathOptions? options = null,
        TimeProvider? time = null)
    {
        Namespace = NetnsHandle.Create();
        Topology = KernelHostTopology.Build(policy, Namespace.Namespace, Owner);
        Ports = new PortRegistry();
        SlowPath = new KernelSlowPath(Topology, Ports, options, time);
        SlowPath.OnKernelOutput = o => { lock (KernelOutputs) KernelOutputs.Add(o); };
        Backend = new SoftwareBackend();
        var datapathOptions = new DatapathOptions { Conntrack = policy.ToConntrackOptions(), Offload = new OffloadPolicy { When = when } };
        Datapath = new Datapath.Datapath(datapathOptions, SlowPath, Backend, _sink);
        Datapath.AddUplink(PortRegistry.Uplink);
        foreach (CompiledPort port in SlowPath.Policy.Ports)
        {
            if (port.IsLocal)
                Datapath.AddPort(port.Number, port.Config.Name, port.Network.Vni);
        }
    }

    public NetnsHandle Namespace { get; }
    public KernelHostTopology Topology { get; }
    public PortRegistry Ports { get; }
    public KernelSlowPath SlowPath { get; private set; }
    public SoftwareBackend Backend { get; }
    public Datapath.Datapath Datapath { get; }
    public List<KernelOutput> KernelOutputs { get; } = [];

    public ushort Port(string name) => Ports.GetOrAdd(name);

    /// <summary>Processes one frame and waits (polling the datapath) for its result.</summary>
    public Result Send(byte[] frame, ushort inPort)
    {
        long cookie = ++_cookie;
        var input = new InputFrame(PacketBuffer.CopyOf(frame), inPort, cookie);
        Datapath.Process(ref input);
        long deadline = Environment.TickCount64 + (long)Wait.TotalMilliseconds;
        while (true)
        {
            if (_sink.TryTake(cookie, out Result result))
                return result;
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException("no result for the frame within " + Wait);
            Datapath.Poll();
            Thread.Sleep(1);
        }
    }

    /// <summary>Processes the frames as one batch (their misses reach the adapter together) and waits for every result.</summary>
    public Result[] SendBatch(params (byte[] Frame, ushort InPort)[] frames)
    {
        var inputs = new InputFrame[frames.Length];
        var cookies = new long[frames.Length];
        for (int i = 0; i < frames.Length; i++)
        {
            cookies[i] = ++_cookie;
            inputs[i] = new InputFrame(PacketBuffer.CopyOf(frames[i].Frame), frames[i].InPort, cookies[i]);
        }
        Datapath.Process(inputs);
        var results = new Result[frames.Length];
        long deadline = Environment.TickCount64 + (long)Wait.TotalMilliseconds;
        for (int i = 0; i < frames.Length; i++)
        {
            while (!_sink.TryTake(cookies[i], out results[i]))
            {
                if (Environment.TickCount64 > deadline)
                    throw new TimeoutException("no result for frame " + i + " of the batch within " + Wait);
                Datapath.Poll();
                Thread.Sleep(1);
            }
        }
        return results;
    }

    public IReadOnlyDictionary<string, NftablesCounter> Counters() => Namespace.Enter(() =>
    {
        using NftablesContext nft = NftablesContext.Create(json: true);
        return nft.ReadRuleCounters(NftablesRulesetGenerator.Family, Topology.Topology.TableName);
    });

    public KernelConntrackEntry? Conntrack(ConntrackTuple original) => Namespace.Enter(() =>
    {
        using CtnetlinkClient ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(1));
        return ct.TryGet(original, isReplyTuple: false);
    });

    /// <summary>Replaces the adapter by a new one over the same namespace (an agent restart).</summary>
    public KernelSlowPath Restart()
    {
        SlowPath.Dispose();
        SlowPath = new KernelSlowPath(Topology, Ports);
        return SlowPath;
    }

    public void Dispose()
    {
        Datapath.Dispose();
        SlowPath.Dispose();
        Backend.Dispose();
        Topology.Dispose();
        Namespace.Dispose();
    }

    // ---------------- frames ----------------

    public static byte[] Tcp(MacAddress dstMac, MacAddress srcMac, string srcIp, ushort srcPort, string dstIp, ushort dstPort, byte flags = 0x02,
        uint seq = 1000, uint ack = 0)
    {
        byte[] frame = SlowPathFrames.Syn(dstMac, srcMac, srcIp, srcPort, dstIp, dstPort);
        int tcp = SlowPathFrames.TcpOffset;
        frame[tcp + 13] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(tcp + 4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(tcp + 8), ack);
        frame[tcp + 16] = 0;
        frame[tcp + 17] = 0;
        var pseudo = new byte[32];
        frame.AsSpan(SlowPathFrames.IpOffset + 12, 8).CopyTo(pseudo);
        pseudo[9] = 6;
        pseudo[11] = 20;
        frame.AsSpan(tcp, 20).CopyTo(pseudo.AsSpan(12));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(tcp + 16), TestFrames.Checksum(pseudo));
        return frame;
    }

    /// <summary>Ethernet + IPv6 (hop limit 64) + TCP SYN with a correct checksum.</summary>
    public static byte[] Tcp6(MacAddress dstMac, MacAddress srcMac, string srcIp, ushort srcPort, string dstIp, ushort dstPort)
    {
        var frame = new byte[14 + 40 + 20];
        dstMac.WriteTo(frame);
        srcMac.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x86DD);
        Span<byte> ip = frame.AsSpan(14, 40);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 20);
        ip[6] = 6;
        ip[7] = 64;
        NetAddress.Parse(srcIp).WriteTo(ip[8..]);
        NetAddress.Parse(dstIp).WriteTo(ip[24..]);
        Span<byte> tcp = frame.AsSpan(54, 20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1000);
        tcp[12] = 5 << 4;
        tcp[13] = 0x02;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        var pseudo = new byte[40 + 20];
        ip.Slice(8, 32).CopyTo(pseudo);
        pseudo[35] = 20;
        pseudo[39] = 6;
        tcp.CopyTo(pseudo.AsSpan(40));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], TestFrames.Checksum(pseudo));
        return frame;
    }

    public static byte[] Udp(MacAddress dstMac, MacAddress srcMac, string srcIp, ushort srcPort, string dstIp, ushort dstPort, ushort ipId = 0)
    {
        byte[] frame = TestFrames.Udp(dstMac, srcMac, TestFrames.V4(srcIp), TestFrames.V4(dstIp), srcPort, dstPort, "hello"u8);
        SetIpId(frame, ipId);
        return frame;
    }

    /// <summary>ICMP destination unreachable (port) from <paramref name="srcIp"/> quoting <paramref name="quoted"/>'s IP header + 8 bytes.</summary>
    public static byte[] PortUnreachable(MacAddress dstMac, MacAddress srcMac, string srcIp, string dstIp, byte[] quoted, ushort ipId)
    {
        int quote = 20 + 8;
        var payload = new byte[8 + quote];
        payload[0] = 3;
        payload[1] = 3;
        quoted.AsSpan(14, quote).CopyTo(payload.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), TestFrames.Checksum(payload));
        byte[] frame = TestFrames.Udp(dstMac, srcMac, TestFrames.V4(srcIp), TestFrames.V4(dstIp), 0, 0, payload.AsSpan(8));
        // Reuse the IPv4 builder: rewrite protocol and L4 (UDP's 8-byte header becomes the ICMP header).
        frame[14 + 9] = 1;
        payload.AsSpan(0, 8).CopyTo(frame.AsSpan(34));
        SetIpId(frame, ipId);
        return frame;
    }

    /// <summary><paramref name="inner"/> in VXLAN (or GRE) from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static byte[] Tunnel(byte[] inner, TunnelType type, uint vni, UnderlayConfig from, UnderlayConfig to)
    {
        var template = new EncapTemplate(type, vni, from.Mac, to.Mac, from.Ip, to.Ip);
        ActionProgram program = ActionProgram.CreateBuilder().Encapsulate(template).Output(PortRegistry.Uplink).Build();
        PacketBuffer buffer = PacketBuffer.CopyOf(inner);
        PacketParser.Parse(inner, out ParsedPacket p);
        ActionOutcome outcome = ActionExecutor.Apply(program, default, ref buffer, ref p, 0, null, 0);
        if (outcome.IsDrop)
            throw new InvalidOperationException("encapsulation failed: " + outcome.Reason);
        return buffer.Span.ToArray();
    }

    private static void SetIpId(byte[] frame, ushort id)
    {
        Span<byte> ip = frame.AsSpan(14, 20);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], TestFrames.Checksum(ip));
    }

    public readonly record struct Result(FrameResult Info, byte[] Frame);

    private sealed class RecordingSink : IFrameSink
    {
        private readonly Dictionary<long, Result> _results = new();

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
            lock (_results)
                _results[result.Cookie] = new Result(result, frame.ToArray());
        }

        public bool TryTake(long cookie, out Result result)
        {
            lock (_results)
                return _results.Remove(cookie, out result);
        }
    }
}

using Offload.Actions;
using Offload.Datapath;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Sync;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Doca.Tests.Chain;

/// <summary>
/// The whole chain (issue 7): the real kernel is the slow path (its ruleset and conntrack in a private namespace), the
/// DOCA backend on the emulator is the fast path with Flow CT, and kernel conntrack events are followed. The kernel's
/// first-packet decision becomes one CT entry for both directions on the device, later packets never leave the device
/// model (TTL decremented as the kernel routes), and a kernel DESTROY takes the connection off the device.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class KernelToDeviceChainTests : IDisposable, IFrameSink
{
    // The demo host's blue network without security groups: vm2 accepts the UDP connection vm1 opens.
    private const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe", uplink: eth1 }
        hosts:
          - { name: host-b, underlay: { ip: 192.0.2.11, mac: "02:00:00:00:0b:01" } }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a, interface: vnet-vm1 }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a, interface: vnet-vm2 }
        conntrack:
          timeouts: { udp: 30, udpStream: 120 }
        """;

    private const uint Vm1Ip = 0x0A010001, Vm2Ip = 0x0A010002;
    private const ushort ClientPort = 40123, ServerPort = 5353;
    private static readonly byte[] Vm1Mac = [2, 0, 0, 1, 0, 1], Vm2Mac = [2, 0, 0, 1, 0, 2], GatewayMac = [2, 0, 0, 0, 0xff, 0xfe];
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    private readonly List<FrameResult> _results = new();
    private NetworkNamespace? _ns;
    private KernelHostTopology? _topology;
    private KernelSlowPath? _slowPath;
    private DocaBackend? _device;
    private Offload.Datapath.Datapath? _datapath;
    private KernelConntrackSync? _sync;

    public KernelToDeviceChainTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        _sync?.Dispose();
        _datapath?.Dispose();
        _device?.Dispose();
        _slowPath?.Dispose();
        _topology?.Dispose();
        _ns?.Dispose();
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    void IFrameSink.OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        lock (_results)
            _results.Add(result);
    }

    private int ResultCount
    {
        get
        {
            lock (_results)
                return _results.Count;
        }
    }

    // Every kernel decision routes (KernelDecisionBuilder adds DecrementTtl to the MAC rewrites), so this is also the
    // end-to-end check that the device decrements TTL as the kernel did for the first packet.
    [RootFact]
    public void KernelFirstPacket_CtEntryOnDeviceForBothDirections_LaterPacketsStayOnDevice_KernelDestroyRemovesIt()
    {
        const byte expectedTtl = 63;
        var load = PolicyLoader.Load(Policy);
        load.Snapshot.Should().NotBeNull(string.Join("; ", load.Errors));
        PolicySnapshot policy = load.Snapshot!;
        _ns = NetworkNamespace.Create($"offload-chain-{Environment.ProcessId}");
        _topology = KernelHostTopology.Build(policy, _ns, "chain-test");
        var ports = new PortRegistry();
        _slowPath = new KernelSlowPath(_topology, ports);
        ushort vm1 = ports.GetOrAdd("vm1"), vm2 = ports.GetOrAdd("vm2");
        _device = new DocaBackend(new DocaBackendOptions
        {
            Ports = [new DocaIngressPort(PortRegistry.Uplink), new DocaIngressPort(vm1, 100), new DocaIngressPort(vm2, 100)],
            MaxFlows = 1024,
            ConnectionTracking = true,
        });
        var options = new DatapathOptions { Conntrack = policy.ToConntrackOptions(), Offload = new OffloadPolicy { When = OffloadTrigger.FirstPacket } };
        _datapath = new Offload.Datapath.Datapath(options, _slowPath, _device, this);
        _datapath.AddUplink(PortRegistry.Uplink);
        _datapath.AddPort(vm1, "vm1", 100);
        _datapath.AddPort(vm2, "vm2", 100);
        _sync = new KernelConntrackSync(_datapath, _slowPath);
        _sync.Start(_ns);

        byte[] request = Udp(Vm1Ip, Vm2Ip, ClientPort, ServerPort, Vm1Mac);
        byte[] response = Udp(Vm2Ip, Vm1Ip, ServerPort, ClientPort, Vm2Mac);
        var original = new FlowKey(NetAddress.FromV4(Vm1Ip), ClientPort, NetAddress.FromV4(Vm2Ip), ServerPort, IpProtocol.Udp, vm1, 100);
        var reply = new FlowKey(NetAddress.FromV4(Vm2Ip), ServerPort, NetAddress.FromV4(Vm1Ip), ClientPort, IpProtocol.Udp, vm2, 100);
        var kernelTuple = new ConntrackTuple(NetAddress.FromV4(Vm1Ip), NetAddress.FromV4(Vm2Ip), IpProtocol.Udp, ClientPort, ServerPort);
        long kernelPacketsBefore = KernelPackets();

        // 1. The first packet is the kernel's to decide.
        var input = new InputFrame(PacketBuffer.CopyOf(request), vm1, 1);
        _datapath.Process(ref input);
        PollUntil(() => ResultCount == 1);
        FrameResult first;
        lock (_results)
            first = _results[0];
        first.Path.Should().Be(PacketPath.Slow);
        first.Verdict.Should().Be(ActionVerdict.Output);
        first.OutPort.Should().Be(vm2);
        _slowPath.Stats.Should().Match<KernelSlowPathStats>(s => s.Injected == 1 && s.Verified == 1 && s.Mismatches == 0);
        long kernelPacketsAfterFirst = KernelPackets();
        kernelPacketsAfterFirst.Should().BeGreaterThan(kernelPacketsBefore, "the first packet met the kernel's ruleset");
        KernelEntry(kernelTuple).Should().NotBeNull("the kernel tracks the connection it decided");

        // 2. The decision and the connection land on the device as one Flow CT entry covering both directions.
        PollUntil(() => _device.IsConnectionTracked(original) && _device.IsConnectionTracked(reply), () => Diagnose(original, reply));
        _device.ConnectionCount.Should().Be(1, "both directions are one CT entry");
        _datapath.Conntrack.TryLookup(original, out _, out _).Should().BeTrue();

        // 3. Later packets both ways are forwarded by the device model, rewritten as the kernel routed the first one.
        int seen = ResultCount;
        for (int i = 0; i < 5; i++)
        {
            EmulatorControl.Inject(vm1, request, out byte[] out1, out ushort port1).Should().Be(EmulatorControl.PacketPort);
            port1.Should().Be(vm2);
            out1.AsSpan(0, 6).ToArray().Should().Equal(Vm2Mac);
            out1.AsSpan(6, 6).ToArray().Should().Equal(GatewayMac);
            out1[14 + 8].Should().Be(expectedTtl);
            Ip4Header.CarriedChecksum(out1).Should().Be(Ip4Header.Checksum(out1));

            EmulatorControl.Inject(vm2, response, out byte[] out2, out ushort port2).Should().Be(EmulatorControl.PacketPort);
            port2.Should().Be(vm1);
            out2.AsSpan(0, 6).ToArray().Should().Equal(Vm1Mac);
            out2.AsSpan(6, 6).ToArray().Should().Equal(GatewayMac);
            out2[14 + 8].Should().Be(expectedTtl);
            Ip4Header.CarriedChecksum(out2).Should().Be(Ip4Header.Checksum(out2));
        }
        // A packet that arrives with TTL 1 dies on the device, as it would in the kernel's forward path.
        EmulatorControl.Inject(vm1, Ip4Header.WithTtl(request, 1), out _, out _).Should().Be(EmulatorControl.PacketDrop);
        EmulatorControl.DropCount(EmulatorControl.DropTtlExceeded).Should().Be(1);
        _datapath.Poll();
        ResultCount.Should().Be(seen, "the datapath saw none of the later packets");
        KernelPackets().Should().Be(kernelPacketsAfterFirst, "no later packet reached the kernel");
        _slowPath.Stats.Injected.Should().Be(1);

        // 4. A kernel DESTROY (conntrack -D) is followed: the connection leaves the datapath and the device.
        RunConntrackDelete();
        PollUntil(() => !_datapath.Conntrack.TryLookup(original, out _, out _) && _device.ConnectionCount == 0);
        _device.IsConnectionTracked(original).Should().BeFalse();
        _device.IsConnectionTracked(reply).Should().BeFalse();
        _sync.GetStats().RemovalsRequested.Should().BeGreaterThanOrEqualTo(1);
        EmulatorControl.Inject(vm1, request, out _, out _).Should().Be(EmulatorControl.PacketMiss, "the device no longer knows the connection");
        EmulatorControl.Inject(vm2, response, out _, out _).Should().Be(EmulatorControl.PacketMiss);
    }

    private static byte[] Udp(uint src, uint dst, ushort sport, ushort dport, byte[] srcMac)
    {
        byte[] f = Frames.Udp4(src, dst, sport, dport, payload: 32);
        GatewayMac.CopyTo(f, 0);
        srcMac.CopyTo(f, 6);
        return f;
    }

    private long KernelPackets() => _ns!.Run(() =>
    {
        using NftablesContext nft = NftablesContext.Create(json: true);
        long sum = 0;
        foreach (NftablesCounter counter in nft.ReadRuleCounters(NftablesRulesetGenerator.Family, _topology!.Topology.TableName).Values)
            sum += counter.Packets;
        return sum;
    });

    private KernelConntrackEntry? KernelEntry(ConntrackTuple original) => _ns!.Run(() =>
    {
        using CtnetlinkClient ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(1));
        return ct.TryGet(original, isReplyTuple: false);
    });

    private void RunConntrackDelete()
    {
        var start = new System.Diagnostics.ProcessStartInfo("ip")
        {
            ArgumentList = { "netns", "exec", _ns!.Name!, "conntrack", "-D", "-p", "udp", "--orig-src", "10.1.0.1", "--orig-dst", "10.1.0.2",
                "--orig-port-src", ClientPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, error);
    }

    // The datapath's thread is the test's: poll it (slow-path completions, sync removals, device completions).
    private void PollUntil(Func<bool> done, Func<string>? why = null)
    {
        var deadline = DateTimeOffset.UtcNow + Limit;
        while (!done() && DateTimeOffset.UtcNow < deadline)
        {
            _datapath!.Poll();
            Thread.Sleep(5);
        }
        done().Should().BeTrue(why?.Invoke() ?? "");
    }

    private string Diagnose(in FlowKey original, in FlowKey reply)
    {
        var stats = _datapath!.GetStats();
        bool tracked = _datapath.Conntrack.TryLookup(original, out _, out _);
        return $"device: {_device!.Count} flows, {_device.ConnectionCount} CT, submit errors {_device.SubmitErrors}, error completions {_device.ErrorCompletions}, "
            + $"installed {_device.IsInstalled(original)}/{_device.IsInstalled(reply)}; datapath: installed {stats.FlowsInstalled}, failures {stats.FlowInstallFailures}, "
            + $"conntrack {tracked}";
    }
}

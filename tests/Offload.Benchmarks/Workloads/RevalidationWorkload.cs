using System.Diagnostics;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P5: a <see cref="VirtualSwitch"/> (in-process policy slow path) with ~500k established UDP connections vm1 → vm2
/// (1M flows: both directions installed at the first packet), then policy changes that each deny 10% of them with one
/// new ACL rule: the synchronous <see cref="VirtualSwitch.ApplyPolicy"/> is timed (every connection re-checked), and
/// the fast-path rate over the surviving connections is measured before and during an incremental revalidation
/// (<see cref="Datapath.Datapath.StartRevalidation"/> with <see cref="Datapath.Datapath.Poll"/> slices between batches).
/// </summary>
internal sealed class RevalidationWorkload : IDisposable
{
    public const int Batch = 32;
    public const int DstPorts = 10; // connection c uses destination port 1 + c / (connections / 10): each port is 10%

    private const string PolicyHead = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe", uplink: eth1 }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
        conntrack: { maxEntries: 1048576 }
        offload: { when: first-packet, minPackets: 0 }
        acl:
          mode: deny-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, src: 10.1.0.0/24, dst: 10.1.9.0/24, protocol: tcp, dstPorts: "22" }

        """;

    private readonly VirtualSwitch _switch;
    private readonly CountingSink _sink = new();
    private readonly byte[] _template;
    private readonly InputFrame[] _frames;
    private readonly int[] _survivors; // connection ids no policy below denies (dst ports 3..10)
    private readonly int _perPort;
    private int _pos;

    public RevalidationWorkload(int connections)
    {
        Connections = connections;
        _perPort = (connections + DstPorts - 1) / DstPorts;
        _switch = new VirtualSwitch(Load(PolicyHead), _sink,
            new VirtualSwitchOptions { Backend = new() { Capacity = 2 * connections + 1024 } });
        if (!_switch.Ports.TryGet("vm1", out ushort vm1))
            throw new InvalidOperationException("vm1 not declared");
        Vm1Port = vm1;
        _frames = UdpFrames.Batch(Batch, vm1);
        _template = UdpFrames.Template(MacAddress.Parse("02:00:00:01:00:01"), MacAddress.Parse("02:00:00:00:ff:fe"),
            NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"));
        var sw = Stopwatch.StartNew();
        for (int c = 0; c < connections; c += Batch)
        {
            int n = Math.Min(Batch, connections - c);
            for (int i = 0; i < n; i++)
                Fill(i, c + i);
            _switch.Process(_frames.AsSpan(0, n));
            _switch.Poll();
        }
        SetupSeconds = sw.Elapsed.TotalSeconds;
        if (_switch.Conntrack.Count != connections || _switch.Backend.Count != 2 * connections)
            throw new InvalidOperationException($"P5 setup: {_switch.Conntrack.Count} connections, {_switch.Backend.Count} flows (sink: {_sink.Forwarded} forwarded, {_sink.Dropped} dropped)");

        var survivors = new List<int>();
        var r = new Random(5);
        for (int i = 0; i < 1 << 20; i++)
        {
            int c = r.Next(connections);
            if (c / _perPort >= 2)
                survivors.Add(c);
        }
        _survivors = survivors.ToArray();
    }

    public int Connections { get; }

    public ushort Vm1Port { get; }

    public double SetupSeconds { get; }

    public VirtualSwitch Switch => _switch;

    public CountingSink Sink => _sink;

    /// <summary>The policy with an extra rule denying vm1 → vm2 UDP to destination port <paramref name="deniedPorts"/>.</summary>
    public static PolicySnapshot PolicyDenying(string deniedPorts) => Load(PolicyHead +
        $"    - {{ priority: 50, action: deny, direction: egress, network: blue, src: 10.1.0.1/32, dst: 10.1.0.2/32, protocol: udp, dstPorts: \"{deniedPorts}\" }}\n");

    /// <summary>One batch of 32 packets of random surviving connections.</summary>
    public void SurvivorBatch()
    {
        if (_pos + Batch > _survivors.Length)
            _pos = 0;
        for (int i = 0; i < Batch; i++)
            Fill(i, _survivors[_pos + i]);
        _pos += Batch;
        _switch.Process(_frames);
    }

    private void Fill(int i, int connection) =>
        UdpFrames.Fill(ref _frames[i], _template, (ushort)(1024 + connection % _perPort), (ushort)(1 + connection / _perPort));

    private static PolicySnapshot Load(string yaml)
    {
        var result = PolicyLoader.Load(yaml);
        if (result.Snapshot is null || result.Errors.Count > 0)
            throw new InvalidOperationException("policy: " + string.Join("; ", result.Errors));
        return result.Snapshot;
    }

    public void Dispose() => _switch.Dispose();
}

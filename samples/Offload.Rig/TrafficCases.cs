using Offload.Actions;
using Offload.Packets;

namespace Offload.Rig;

/// <summary>One frame of a traffic scenario: the policy port it enters on and the frame.</summary>
public sealed record TrafficStep(string Port, Func<IReadOnlyList<OracleOutput>, byte[]> Make, string Label)
{
    /// <summary>A step with a fixed frame.</summary>
    public TrafficStep(string port, byte[] frame, string label)
        : this(port, _ => frame, label)
    {
    }
}

/// <summary>
/// A connection driven through the software switch first (the oracle), then replayed into the device. The last step's
/// software result must be <see cref="ExpectDrop"/> or an output to <see cref="ExpectOutPort"/>;
/// <see cref="ExpectSoftwareBecause"/> set means the device must refuse the flows from <see cref="TrafficStep.Port"/> of
/// the last step, with a reason containing that text.
/// </summary>
public sealed record TrafficCase(string Name, string Claim, string Title, TrafficStep[] Steps, bool ExpectDrop = false,
    string? ExpectOutPort = null, string? ExpectSoftwareBecause = null);

/// <summary>The traffic scenarios for the rig's default policy (rig-policy.yaml).</summary>
public static class TrafficCases
{
    private static readonly MacAddress Gw = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");
    private static readonly MacAddress Vm3 = MacAddress.Parse("02:00:00:01:00:03");
    private static readonly MacAddress Vm4 = MacAddress.Parse("02:00:00:02:00:04");
    private static readonly MacAddress Vm5 = MacAddress.Parse("02:00:00:02:00:05");
    private static readonly MacAddress Vm6 = MacAddress.Parse("02:00:00:02:00:06");
    private static readonly MacAddress HostA = MacAddress.Parse("02:00:00:00:0a:01");
    private static readonly MacAddress HostB = MacAddress.Parse("02:00:00:00:0b:01");
    private static readonly MacAddress Router = MacAddress.Parse("02:00:00:00:ee:01");

    // The SNAT port is the switch's choice: the reply goes to whatever source port the first query left with.
    private static ushort SourcePortOf(byte[] frame) =>
        frame.Length >= 36 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34)) : (ushort)0;

    /// <summary>Every traffic scenario.</summary>
    public static IReadOnlyList<TrafficCase> All { get; } =
    [
        new("same-network", "C4/C8", "vm1 -> vm2 on blue: delivered locally with the destination MAC rewritten",
        [
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.0.2", 40000, 8080, flags: 0x02), "SYN (slow path)"),
            new("vm2", RigFrames.Tcp(Vm2, Gw, "10.1.0.2", "10.1.0.1", 8080, 40000, flags: 0x12), "SYN-ACK"),
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.0.2", 40000, 8080), "ACK + data"),
            new("vm2", RigFrames.Tcp(Vm2, Gw, "10.1.0.2", "10.1.0.1", 8080, 40000), "reply data"),
        ], ExpectOutPort: "vm1"),
        new("acl-drop", "C6", "vm1 -> vm2 tcp/22 is denied by the ACL: a drop flow, the device drops too",
        [
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.0.2", 40001, 22, flags: 0x02), "SYN (slow path)"),
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.0.2", 40001, 22, flags: 0x02), "SYN retry"),
        ], ExpectDrop: true),
        new("dnat-vip", "C10", "vm1 -> VIP 10.1.255.10:80 is DNATed to vm2:8080; the reply is un-NATed",
        [
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.255.10", 40002, 80, flags: 0x02), "SYN to VIP (slow path)"),
            new("vm2", RigFrames.Tcp(Vm2, Gw, "10.1.0.2", "10.1.0.1", 8080, 40002, flags: 0x12), "SYN-ACK from backend"),
            new("vm1", RigFrames.Tcp(Vm1, Gw, "10.1.0.1", "10.1.255.10", 40002, 80), "data to VIP"),
            new("vm2", RigFrames.Tcp(Vm2, Gw, "10.1.0.2", "10.1.0.1", 8080, 40002), "reply from backend"),
        ], ExpectOutPort: "vm1"),
        new("snat", "C11", "vm1 -> internet is SNATed to 203.0.113.5 out of the uplink; the reply is un-NATed",
        [
            new("vm1", RigFrames.Udp(Vm1, Gw, "10.1.0.1", "198.51.100.7", 40003, 53), "query (slow path)"),
            new("uplink", o => RigFrames.Udp(Router, HostA, "198.51.100.7", "203.0.113.5", 53, SourcePortOf(o[0].Frame)), "reply to the SNAT port"),
            new("vm1", RigFrames.Udp(Vm1, Gw, "10.1.0.1", "198.51.100.7", 40003, 53), "second query"),
            new("uplink", o => RigFrames.Udp(Router, HostA, "198.51.100.7", "203.0.113.5", 53, SourcePortOf(o[0].Frame)), "second reply"),
        ], ExpectOutPort: "vm1"),
        new("vxlan-encap", "C9", "vm1 -> vm3 on host-b: VXLAN-encapsulated (VNI 100) to host-b's underlay",
        [
            new("vm1", RigFrames.Udp(Vm1, Gw, "10.1.0.1", "10.1.0.3", 40004, 7000), "first (slow path)"),
            new("vm1", RigFrames.Udp(Vm1, Gw, "10.1.0.1", "10.1.0.3", 40004, 7000), "second"),
        ], ExpectOutPort: "uplink"),
        new("gre-encap", "C9", "vm4 -> vm5 on host-b: GRE-encapsulated (key 200) to host-b's underlay",
        [
            new("vm4", RigFrames.Udp(Vm4, Gw, "10.2.0.4", "10.2.0.5", 40005, 7000), "first (slow path)"),
            new("vm4", RigFrames.Udp(Vm4, Gw, "10.2.0.4", "10.2.0.5", 40005, 7000), "second"),
        ], ExpectOutPort: "uplink"),
        new("vxlan-decap", "C15", "VXLAN from host-b (vm3 -> vm1, VNI 100) is decapsulated and delivered to vm1",
        [
            new("uplink", RigFrames.Vxlan(RigFrames.Udp(Vm3, Vm1, "10.1.0.3", "10.1.0.1", 40006, 7000), 100, HostB, HostA, "192.0.2.11", "192.0.2.10"), "first (slow path)"),
            new("uplink", RigFrames.Vxlan(RigFrames.Udp(Vm3, Vm1, "10.1.0.3", "10.1.0.1", 40006, 7000), 100, HostB, HostA, "192.0.2.11", "192.0.2.10"), "second"),
        ], ExpectOutPort: "vm1"),
        new("gre-decap", "C15", "GRE from host-b (vm5 -> vm4, key 200) is decapsulated and delivered to vm4",
        [
            new("uplink", RigFrames.Gre(RigFrames.Udp(Vm5, Vm4, "10.2.0.5", "10.2.0.4", 40008, 7000), 200, HostB, HostA, "192.0.2.11", "192.0.2.10"), "first (slow path)"),
            new("uplink", RigFrames.Gre(RigFrames.Udp(Vm5, Vm4, "10.2.0.5", "10.2.0.4", 40008, 7000), 200, HostB, HostA, "192.0.2.11", "192.0.2.10"), "second"),
        ], ExpectOutPort: "vm4"),
        new("unsupported-meter", "Backends", "vm6 (rate-limited) -> vm5: the meter keeps the flow in software, with the reason",
        [
            new("vm6", RigFrames.Udp(Vm6, Gw, "10.2.0.6", "10.2.0.5", 40007, 7000), "first (slow path)"),
            new("vm6", RigFrames.Udp(Vm6, Gw, "10.2.0.6", "10.2.0.5", 40007, 7000), "second"),
        ], ExpectOutPort: "uplink", ExpectSoftwareBecause: nameof(HeaderOpKind.Meter)),
    ];
}

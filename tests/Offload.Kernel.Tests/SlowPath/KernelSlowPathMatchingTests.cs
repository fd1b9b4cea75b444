using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.SlowPath;
using Offload.Packets;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>Which packet written into the kernel an output belongs to, when both directions of a connection are in flight.</summary>
public sealed class KernelSlowPathMatchingTests
{
    private static ConntrackTuple T(string src, ushort sport, string dst, ushort dport, byte protocol = IpProtocol.Tcp) =>
        new(NetAddress.Parse(src), NetAddress.Parse(dst), protocol, sport, dport);

    private static KernelConntrackEntry Entry(ConntrackTuple original, ConntrackTuple reply) => new() { Original = original, Reply = reply };

    // The tuple the adapter looks the entry up by: the output's own tuple inverted.
    private static ConntrackTuple InvertedOutput(ConntrackTuple output)
    {
        new FlowKey(output.Source, output.SourcePort, output.Destination, output.DestinationPort, output.Protocol, 0, 0)
            .TryInvert(0, 0, out FlowKey inverted).Should().BeTrue();
        return ConntrackTuple.FromFlowKey(inverted);
    }

    public static TheoryData<string, string, string> Outputs => new()
    {
        // entry original | entry reply | output of the packet (which direction it went in is the expected answer)
        { "10.1.0.1:41008>10.1.0.2:80", "10.1.0.2:80>10.1.0.1:41008", "original" },
        { "10.1.0.1:41008>10.1.0.2:80", "10.1.0.2:80>10.1.0.1:41008", "reply" },
        { "10.1.0.1:41020>198.51.100.7:443", "198.51.100.7:443>203.0.113.5:1030", "original" }, // SNAT
        { "10.1.0.1:41020>198.51.100.7:443", "198.51.100.7:443>203.0.113.5:1030", "reply" },
        { "10.1.0.1:41030>10.1.255.10:80", "10.1.0.3:8080>10.1.0.1:41030", "original" },     // DNAT to a backend
        { "10.1.0.1:41030>10.1.255.10:80", "10.1.0.3:8080>10.1.0.1:41030", "reply" },
    };

    private static ConntrackTuple Parse(string text)
    {
        string[] ends = text.Split('>');
        string[] a = ends[0].Split(':'), b = ends[1].Split(':');
        return T(a[0], ushort.Parse(a[1]), b[0], ushort.Parse(b[1]));
    }

    // What the kernel emits for a packet of a direction: the other direction's tuple, inverted (NAT applied).
    private static ConntrackTuple Emitted(ConntrackTuple other) =>
        new(other.Destination, other.Source, other.Protocol, other.DestinationPort, other.SourcePort);

    [Theory]
    [MemberData(nameof(Outputs))]
    public void TryInputTuple_OutputOfOneDirection_ThatDirectionsInputTuple(string original, string reply, string direction)
    {
        KernelConntrackEntry entry = Entry(Parse(original), Parse(reply));
        bool wentInAsOriginal = direction == "original";
        ConntrackTuple output = Emitted(wentInAsOriginal ? entry.Reply : entry.Original);

        KernelSlowPath.TryInputTuple(entry, InvertedOutput(output), out ConntrackTuple input).Should().BeTrue();

        input.Should().Be(wentInAsOriginal ? entry.Original : entry.Reply);
    }

    [Fact]
    public void TryInputTuple_IcmpEchoRequestAndReply_EachToItsOwnDirection()
    {
        var request = ConntrackTuple.Icmp(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), 77, 8, 0);
        var answer = ConntrackTuple.Icmp(NetAddress.Parse("10.1.0.2"), NetAddress.Parse("10.1.0.1"), 77, 0, 0);
        KernelConntrackEntry entry = Entry(request, answer);

        KernelSlowPath.TryInputTuple(entry, InvertedOutput(request), out ConntrackTuple forRequest).Should().BeTrue();
        KernelSlowPath.TryInputTuple(entry, InvertedOutput(answer), out ConntrackTuple forAnswer).Should().BeTrue();

        (forRequest, forAnswer).Should().Be((request, answer));
    }

    [Fact]
    public void TryInputTuple_OutputNamingNeitherTuple_False()
    {
        KernelConntrackEntry entry = Entry(T("10.1.0.1", 1, "10.1.0.2", 2), T("10.1.0.2", 2, "10.1.0.1", 1));

        KernelSlowPath.TryInputTuple(entry, T("10.1.0.9", 1, "10.1.0.2", 2), out _).Should().BeFalse();
    }
}

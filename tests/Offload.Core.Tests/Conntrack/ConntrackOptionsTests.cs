using Microsoft.Extensions.Time.Testing;
using Offload.Conntrack;

namespace Offload.Tests.Conntrack;

public class ConntrackOptionsTests
{
    [Fact]
    public void Defaults_AreLinuxNfConntrackDefaults()
    {
        var t = new ConntrackOptions().Timeouts;
        new[] { t.TcpSynSent, t.TcpSynRecv, t.TcpEstablished, t.TcpFinWait, t.TcpCloseWait, t.TcpLastAck, t.TcpTimeWait, t.TcpClose, t.TcpSynSent2 }
            .Should().Equal(120, 60, 432_000, 120, 60, 30, 120, 10, 120);
        new[] { t.TcpUnacknowledged, t.TcpMaxRetrans, t.Udp, t.UdpStream, t.Icmp, t.Generic }
            .Should().Equal(300, 300, 30, 120, 30, 600);
        new ConntrackOptions().MaxEntries.Should().Be(1_000_000);
    }

    [Theory]
    [InlineData(nameof(ConntrackTimeouts.TcpEstablished))]
    [InlineData(nameof(ConntrackTimeouts.TcpSynSent2))]
    [InlineData(nameof(ConntrackTimeouts.Udp))]
    [InlineData(nameof(ConntrackTimeouts.UdpStream))]
    [InlineData(nameof(ConntrackTimeouts.Icmp))]
    [InlineData(nameof(ConntrackTimeouts.Generic))]
    [InlineData(nameof(ConntrackTimeouts.TcpMaxRetrans))]
    public void Validate_ZeroTimeout_ThrowsNamingTheOption(string name)
    {
        var options = new ConntrackOptions();
        typeof(ConntrackTimeouts).GetProperty(name)!.SetValue(options.Timeouts, 0);
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == name && e.Message.Contains($"Timeouts.{name}"));
    }

    [Fact]
    public void Constructor_BadMaxEntries_ThrowsNamingIt()
    {
        var options = new ConntrackOptions { MaxEntries = 0 };
        FluentActions.Invoking(() => new ConntrackTable(options, new FakeTimeProvider()))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == nameof(ConntrackOptions.MaxEntries));
    }

    [Fact]
    public void CustomTimeouts_AreUsed()
    {
        var options = new ConntrackOptions();
        options.Timeouts.TcpSynSent = 7;
        options.Timeouts.Udp = 11;
        var f = new ConntrackFixture(options);
        var tcp = f.Create(ConntrackFixture.Key(Offload.Packets.IpProtocol.Tcp), Offload.Packets.TcpFlags.Syn);
        var udp = f.Create(ConntrackFixture.Key(Offload.Packets.IpProtocol.Udp));
        f.Remaining(tcp).Should().Be(TimeSpan.FromSeconds(7));
        f.Remaining(udp).Should().Be(TimeSpan.FromSeconds(11));
    }
}

using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Sync;
using Offload.Packets;

namespace Offload.Kernel.Tests.Sync;

/// <summary>The parts of the sync that need no kernel.</summary>
public sealed class KernelConntrackSyncTests
{
    private static ConnectionActivity Activity(byte protocol, ConnState state) =>
        new(new FlowKey(NetAddress.Parse("10.9.0.1"), 1, NetAddress.Parse("10.9.0.2"), 2, protocol, 1, 100), state, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(IpProtocol.Tcp, ConnState.Established, 0, 432_000)]
    [InlineData(IpProtocol.Tcp, ConnState.FinWait, 20, 100)]
    [InlineData(IpProtocol.Tcp, ConnState.Close, 3, 7)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, 10, 20)]
    [InlineData(IpProtocol.Udp, ConnState.Assured, 10, 110)]
    [InlineData(IpProtocol.Icmp, ConnState.Replied, 0, 30)]
    [InlineData(IpProtocol.Gre, ConnState.Unreplied, 0, 600)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, 30, 0)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, 45, 0)]
    public void KernelTimeoutSeconds_ByProtocolAndState_LessTheIdleTime(byte protocol, ConnState state, int idleSeconds, uint expected)
    {
        KernelConntrackSync.KernelTimeoutSeconds(new ConntrackTimeouts(), Activity(protocol, state), TimeSpan.FromSeconds(idleSeconds))
            .Should().Be(expected);
    }

    [Fact]
    public void KernelTimeoutSeconds_ConfiguredTimeouts_Used()
    {
        var timeouts = new ConntrackTimeouts { Udp = 5, TcpEstablished = 3600 };

        KernelConntrackSync.KernelTimeoutSeconds(timeouts, Activity(IpProtocol.Udp, ConnState.Unreplied), TimeSpan.FromSeconds(1.5))
            .Should().Be(3);
        KernelConntrackSync.KernelTimeoutSeconds(timeouts, Activity(IpProtocol.Tcp, ConnState.Established), TimeSpan.Zero)
            .Should().Be(3600);
    }

    [Theory]
    [InlineData(nameof(KernelConntrackSyncOptions.EventWait))]
    [InlineData(nameof(KernelConntrackSyncOptions.EventBufferBytes))]
    [InlineData(nameof(KernelConntrackSyncOptions.MaxTimeoutUpdatesPerSecond))]
    [InlineData(nameof(KernelConntrackSyncOptions.MaxPendingActivity))]
    public void Validate_OptionOutOfRange_ThrowsNamingIt(string option)
    {
        var options = new KernelConntrackSyncOptions();
        switch (option)
        {
            case nameof(KernelConntrackSyncOptions.EventWait): options.EventWait = TimeSpan.Zero; break;
            case nameof(KernelConntrackSyncOptions.EventBufferBytes): options.EventBufferBytes = 0; break;
            case nameof(KernelConntrackSyncOptions.MaxTimeoutUpdatesPerSecond): options.MaxTimeoutUpdatesPerSecond = 0; break;
            default: options.MaxPendingActivity = 0; break;
        }

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().Which.ParamName.Should().Be(option);
    }

    [Fact]
    public void OnActivity_MoreThanMayWait_ExcessCountedAsDropped()
    {
        using var backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 16 });
        using var datapath = new Offload.Datapath.Datapath(new DatapathOptions(), new RecordingSlowPath(), backend, new DiscardSink());
        using var sync = new KernelConntrackSync(datapath, new TestResolver(), new KernelConntrackSyncOptions { MaxPendingActivity = 3 });
        var batch = new ConnectionActivity[2];
        batch.AsSpan().Fill(Activity(IpProtocol.Udp, ConnState.Replied));

        sync.OnActivity(batch, endOfReport: false);
        sync.OnActivity(batch, endOfReport: true);

        sync.GetStats().ActivityDropped.Should().Be(1);
    }

    private sealed class DiscardSink : IFrameSink
    {
        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Offload.Kernel.Nftables;
using Offload.Kernel.Tests.Netns;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>libnftables against the real kernel, in a private network namespace.</summary>
public sealed class NftablesContextKernelTests
{
    private const string Ruleset = """
        table inet offload_t {
          counter udp9999 { }
          chain out {
            type filter hook output priority 0; policy accept;
            udp dport 9999 counter name "udp9999"
          }
        }
        """;

    private static void SendUdp(int count, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < count; i++)
            socket.SendTo(new byte[10], new IPEndPoint(IPAddress.Loopback, port));
    }

    private static (long Packets, long Bytes) CounterFromJson(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("counter", out JsonElement counter))
                return (counter.GetProperty("packets").GetInt64(), counter.GetProperty("bytes").GetInt64());
        }
        throw new InvalidOperationException("no counter in " + json);
    }

    [RootFact]
    public void IsSupported_WhereTestsRun_True()
    {
        // test.sh installs libnftables1; a missing library here is a broken test machine, not a skip.
        NftablesLibrary.NotSupportedReason.Should().BeNull();
        NftablesLibrary.IsSupported.Should().BeTrue();
    }

    [RootFact]
    public void Run_RulesetWithCounter_CountsTrafficAndReadsBackAsJson()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();

        (long packets, long bytes) = ns.Enter(() =>
        {
            using NftablesContext nft = NftablesContext.Create(json: true);
            nft.Run(Ruleset);
            SendUdp(3, 9999);
            SendUdp(2, 9998);
            return CounterFromJson(nft.Run("list counter inet offload_t udp9999"));
        });

        packets.Should().Be(3);
        bytes.Should().Be(3 * (20 + 8 + 10));
        ns.Exec("nft", "list", "counter", "inet", "offload_t", "udp9999").Should().Contain("packets 3 bytes 114");
    }

    [RootFact]
    public void Run_BufferWithOneBadCommand_AppliesNothing()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();

        NftablesException error = ns.Enter(() =>
        {
            using NftablesContext nft = NftablesContext.Create();
            Action act = () => nft.Run("add table inet offload_a\nadd chain inet offload_a c\nadd rule inet offload_a c tcp dport 99999 accept\n");
            return act.Should().Throw<NftablesException>().Which;
        });

        error.ErrorText.Should().Contain("out of range");
        error.Message.Should().Contain("out of range");
        ns.Exec("nft", "list", "tables").Should().NotContain("offload_a");
    }

    [RootFact]
    public void Run_PlainOutput_ListsRulesetInNftSyntax()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();

        string listing = ns.Enter(() =>
        {
            using NftablesContext nft = NftablesContext.Create();
            nft.Run(Ruleset).Should().BeEmpty();
            return nft.Run("list table inet offload_t");
        });

        listing.Should().Contain("table inet offload_t").And.Contain("udp dport 9999 counter name \"udp9999\"");
    }
}

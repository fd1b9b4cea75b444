using System.Net;
using System.Net.Sockets;
using Offload.Kernel.Nftables;
using Offload.Kernel.Tests.Netns;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>
/// The kernel model of the slow path in namespaces: a "host" that routes (no bridge) between one veth per VM — the
/// host end named as the topology says, a /32 route to the VM through it — and an uplink veth to a "public"
/// namespace. Each VM reaches everything through the host (169.254.0.1, the same on every VM link).
/// </summary>
internal sealed class RoutedHost : IDisposable
{
    private const string Gateway = "169.254.0.1";
    private readonly List<NetworkNamespace> _all = [];

    public RoutedHost()
    {
        Host = Add();
        Tool.Run("ip", ["netns", "exec", Host.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    }

    public NetworkNamespace Host { get; }

    public NetworkNamespace Add()
    {
        NetworkNamespace ns = NetworkNamespace.Create();
        _all.Add(ns);
        return ns;
    }

    /// <summary>A VM namespace at <paramref name="ip"/> behind the host device <paramref name="device"/>.</summary>
    public NetworkNamespace Vm(string device, string ip)
    {
        NetworkNamespace vm = Add();
        Ip("-n", Host.Name, "link", "add", device, "type", "veth", "peer", "name", "eth0", "netns", vm.Name);
        Ip("-n", Host.Name, "addr", "add", Gateway + "/32", "dev", device);
        Ip("-n", Host.Name, "link", "set", device, "up");
        Ip("-n", Host.Name, "route", "add", ip + "/32", "dev", device);
        Ip("-n", vm.Name, "addr", "add", ip + "/32", "dev", "eth0");
        Ip("-n", vm.Name, "link", "set", "eth0", "up");
        Ip("-n", vm.Name, "route", "add", Gateway + "/32", "dev", "eth0");
        Ip("-n", vm.Name, "route", "add", "default", "via", Gateway);
        return vm;
    }

    /// <summary>A public namespace on a /24 with the host's uplink <paramref name="device"/> at <paramref name="hostIp"/>.</summary>
    public NetworkNamespace Public(string device, string hostIp, string publicIp)
    {
        NetworkNamespace pub = Add();
        Ip("-n", Host.Name, "link", "add", device, "type", "veth", "peer", "name", "eth0", "netns", pub.Name);
        Ip("-n", Host.Name, "addr", "add", hostIp + "/24", "dev", device);
        Ip("-n", Host.Name, "link", "set", device, "up");
        Ip("-n", pub.Name, "addr", "add", publicIp + "/24", "dev", "eth0");
        Ip("-n", pub.Name, "link", "set", "eth0", "up");
        // The uplink is the host's way to everything else, as on a real host.
        Ip("-n", Host.Name, "route", "add", "default", "via", publicIp, "dev", device);
        return pub;
    }

    public void Apply(string json) => Host.Enter(() =>
    {
        using NftablesContext nft = NftablesContext.Create(json: true);
        return nft.Run(json);
    });

    public IReadOnlyDictionary<string, NftablesCounter> Counters(string table) => Host.Enter(() =>
    {
        using NftablesContext nft = NftablesContext.Create();
        return nft.ReadRuleCounters("inet", table);
    });

    public static Socket Listen(NetworkNamespace ns, string ip, int port) => ns.Enter(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(ip), port));
        socket.Listen(8);
        return socket;
    });

    /// <summary>A TCP connect from <paramref name="ns"/> that should succeed (waits up to 3 s: a loaded machine).</summary>
    public static Socket? Connect(NetworkNamespace ns, string ip, int port, int localPort = 0) => Connect(ns, ip, port, localPort, 3000);

    /// <summary>A TCP connect from <paramref name="ns"/> that should be dropped: gives up after half a second, before
    /// the first SYN retransmission, so a dropped attempt is exactly one packet.</summary>
    public static Socket? ConnectExpectingDrop(NetworkNamespace ns, string ip, int port, int localPort = 0) => Connect(ns, ip, port, localPort, 500);

    private static Socket? Connect(NetworkNamespace ns, string ip, int port, int localPort, int timeoutMs)
    {
        Socket socket = ns.Enter(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            if (localPort != 0)
                s.Bind(new IPEndPoint(IPAddress.Any, localPort));
            return s;
        });
        Task connect = socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ip), port));
        try
        {
            if (connect.Wait(timeoutMs))
                return socket;
        }
        catch (AggregateException)
        {
        }
        socket.Dispose();
        return null;
    }

    public static Socket? Accept(Socket listener)
    {
        Task<Socket> accept = listener.AcceptAsync();
        return accept.Wait(1000) ? accept.Result : null;
    }

    private static void Ip(params string[] args) => Tool.Run("ip", args);

    public void Dispose()
    {
        foreach (NetworkNamespace ns in _all)
            ns.Dispose();
    }
}

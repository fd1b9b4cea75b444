using Offload.Kernel.Namespaces;
using Offload.Kernel.Rtnetlink;
using Tool = Offload.Kernel.Tests.Netns.Tool;
using Offload.Packets;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>A host or a VM of a <see cref="TestLab"/>: one network namespace, its rtnetlink client, and a way to run things inside.</summary>
public sealed class TestNode : IDisposable
{
    internal TestNode(string label, NetworkNamespace ns)
    {
        Label = label;
        Namespace = ns;
        Links = RtnetlinkClient.Open(ns);
    }

    /// <summary>The short label the test gave (h1, vm1, ...).</summary>
    public string Label { get; }

    /// <summary>The namespace (hand it to device and socket factories).</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>The namespace's name, for <c>ip netns exec</c>.</summary>
    public string Name => Namespace.Name!;

    /// <summary>rtnetlink inside the node.</summary>
    public RtnetlinkClient Links { get; }

    /// <summary>The node's main address (a VM's eth0 address; a host's first underlay address).</summary>
    public NetAddress Address { get; internal set; }

    /// <summary>For a VM: the index of the host end of its veth, in the host's namespace.</summary>
    public int HostSideIndex { get; internal set; }

    /// <summary>Runs a program inside the node; returns its output, throws on a non-zero exit.</summary>
    public string Exec(string program, params string[] arguments) =>
        Tool.Run("ip", ["netns", "exec", Name, program, .. arguments]);

    /// <summary>Runs code on a thread inside the node (sockets made there stay in the node).</summary>
    public T Run<T>(Func<T> work) => Namespace.Run(work);

    /// <summary>
    /// Sends <paramref name="count"/> ICMP echo requests from inside the node; true when all were answered. Uses .NET's
    /// <see cref="System.Net.NetworkInformation.Ping"/> (a raw ICMP socket as root) on a thread in the namespace, so
    /// the iputils ping tool need not be installed.
    /// </summary>
    public bool Ping(NetAddress target, int count = 1) => Run(() =>
    {
        using var ping = new System.Net.NetworkInformation.Ping();
        for (int i = 0; i < count; i++)
        {
            try
            {
                if (ping.Send(target.ToIPAddress(), 2000).Status != System.Net.NetworkInformation.IPStatus.Success)
                    return false;
            }
            catch (System.Net.NetworkInformation.PingException)
            {
                // An ICMP error from a router (e.g. network unreachable) surfaces as an exception on the raw socket.
                return false;
            }
        }
        return true;
    });

    /// <summary>Adds a route through a gateway ("10.1.2.0/24" via 192.168.100.2).</summary>
    public void AddRoute(string destination, NetAddress gateway)
    {
        (NetAddress address, int prefix) = TestLab.ParseCidr(destination);
        Links.AddRoute(address, prefix, 0, gateway);
    }

    /// <summary>Sets a sysctl of the node's namespace (net.* are per namespace), e.g. net/ipv4/ip_forward.</summary>
    public void SetSysctl(string path, string value) =>
        Run(() => { File.WriteAllText("/proc/sys/" + path, value); return 0; });

    /// <inheritdoc />
    public void Dispose()
    {
        Links.Dispose();
        Namespace.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Label} ({Name})";
}

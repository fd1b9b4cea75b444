using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;

namespace Offload.Cli.Tests;

/// <summary>
/// A host namespace with two VM namespaces wired to it by veths (eth0 in the VM, <c>vm-vmN</c> in the host, no
/// address on the host end), and an <c>offload run</c> agent started inside the host namespace with
/// <c>ip netns exec</c>, binding the ports to the host ends. Namespaces are named <c>offload-cli-&lt;pid&gt;-…</c>;
/// stale ones of killed runs are swept. Everything is removed on dispose.
/// </summary>
internal sealed partial class DeviceLab : IDisposable
{
    public const string Policy = """
        host: { name: h, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: h }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: h, interface: vm-vm2 }
        offload: { when: established, minPackets: 0 }
        """;

    private const string Prefix = "offload-cli-";
    private static int s_counter;
    private readonly TempFolder _dir = new();
    private readonly List<NetworkNamespace> _namespaces = [];
    private readonly StringBuilder _log = new();
    private readonly Lock _logLock = new();
    private Process? _agent;

    public DeviceLab()
    {
        if (Interlocked.Increment(ref s_counter) == 1)
            SweepStale();
        try
        {
            Host = Create("h");
            Vm1 = AddVm("vm1", "02:00:00:01:00:01", "10.1.0.1");
            Vm2 = AddVm("vm2", "02:00:00:01:00:02", "10.1.0.2");
            PolicyFile = _dir.File("policy.yaml");
            File.WriteAllText(PolicyFile, Policy);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetworkNamespace Host { get; }

    public NetworkNamespace Vm1 { get; }

    public NetworkNamespace Vm2 { get; }

    public string PolicyFile { get; }

    public string Socket => Path.Combine(_dir.Path, "agent.sock");

    public Process Agent => _agent ?? throw new InvalidOperationException("no agent started");

    public string Log
    {
        get
        {
            lock (_logLock)
                return _log.ToString();
        }
    }

    /// <summary>Starts <c>offload run</c> inside the host namespace and waits until every port is bound.</summary>
    public void StartAgent(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "offload.dll");
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["netns", "exec", Host.Name!, "env", "--default-signal", "dotnet", dll, "run", "--policy", PolicyFile, "--socket", Socket, .. args])
            start.ArgumentList.Add(a);
        _agent = Process.Start(start)!;
        _agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_logLock)
                    _log.AppendLine(e.Data);
            }
        };
        _agent.OutputDataReceived += (_, _) => { };
        _agent.BeginErrorReadLine();
        _agent.BeginOutputReadLine();
        WaitForLog("frame source devices", "started");
    }

    public void WaitForLog(params string[] parts)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (Log.Split('\n').Any(l => parts.All(p => l.Contains(p, StringComparison.Ordinal))))
                return;
            if (_agent!.HasExited)
                throw new InvalidOperationException($"the agent exited with {_agent.ExitCode}:\n{Log}");
            Thread.Sleep(50);
        }
        throw new TimeoutException($"no log line with [{string.Join(", ", parts)}] within 30 s:\n{Log}");
    }

    /// <summary>Sends SIGTERM and waits for the agent to exit; returns its exit code.</summary>
    public int Stop()
    {
        using (var kill = Process.Start("kill", ["-TERM", Agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit(10_000);
        Agent.WaitForExit(20_000).Should().BeTrue("the agent stops cleanly on SIGTERM");
        Agent.WaitForExit();
        return Agent.ExitCode;
    }

    /// <summary>ICMP echoes from a VM (a raw socket inside its namespace); true when all were answered.</summary>
    public static bool Ping(NetworkNamespace from, string target, int count) => from.Run(() =>
    {
        using var ping = new System.Net.NetworkInformation.Ping();
        for (int i = 0; i < count; i++)
        {
            if (ping.Send(IPAddress.Parse(target), 3000).Status != System.Net.NetworkInformation.IPStatus.Success)
                return false;
        }
        return true;
    });

    /// <summary>Sends <paramref name="bytes"/> random bytes over TCP from <paramref name="client"/> to a server in
    /// <paramref name="server"/>; returns the SHA-256 of what was sent and of what the server read.</summary>
    public static (byte[] Sent, byte[] Received) Tcp(NetworkNamespace server, string serverIp, NetworkNamespace client, int bytes)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(serverIp), 5301);
        using var listener = server.Run(() =>
        {
            var s = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(endpoint);
            s.Listen(1);
            return s;
        });
        var serverSide = Task.Run(() =>
        {
            using var connection = listener.Accept();
            connection.ReceiveTimeout = 10_000;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            int n;
            while ((n = connection.Receive(buffer)) > 0)
                hash.AppendData(buffer, 0, n);
            return hash.GetHashAndReset();
        });
        var payload = RandomNumberGenerator.GetBytes(bytes);
        using (var socket = client.Run(() => new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            socket.SendTimeout = 10_000;
            socket.Connect(endpoint);
            socket.Send(payload);
            socket.Shutdown(SocketShutdown.Send);
        }
        serverSide.Wait(TimeSpan.FromSeconds(20)).Should().BeTrue("the server read to the end");
        return (SHA256.HashData(payload), serverSide.Result);
    }

    private NetworkNamespace Create(string label)
    {
        var ns = NetworkNamespace.Create($"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-{label}");
        _namespaces.Add(ns);
        return ns;
    }

    private NetworkNamespace AddVm(string label, string mac, string address)
    {
        var vm = Create(label);
        string hostEnd = "vm-" + label;
        using var hostLinks = RtnetlinkClient.Open(Host);
        using var vmLinks = RtnetlinkClient.Open(vm);
        int hostSide = hostLinks.CreateVeth(hostEnd, "eth0", vm);
        Host.Run(() => File.WriteAllText($"/proc/sys/net/ipv6/conf/{hostEnd}/disable_ipv6", "1"));
        hostLinks.SetUp(hostSide);
        int eth0 = vmLinks.GetIndex("eth0");
        vm.Run(() => File.WriteAllText("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", "1"));
        vmLinks.SetMac(eth0, MacAddress.Parse(mac));
        vmLinks.AddAddress(eth0, NetAddress.Parse(address), 16);
        DisableTransmitChecksum(vm, "eth0");
        vmLinks.SetUp(eth0);
        for (int i = 0; i < 500 && (hostLinks.FindLink(hostEnd)?.OperState != LinkOperState.Up || vmLinks.FindLink("eth0")?.OperState != LinkOperState.Up); i++)
            Thread.Sleep(10);
        return vm;
    }

    // ethtool -K eth0 tx off, by SIOCETHTOOL/ETHTOOL_STXCSUM (the tool is not installed): the agent's packet sockets
    // see frames as the VM handed them over, so they must carry finished checksums.
    private static unsafe void DisableTransmitChecksum(NetworkNamespace ns, string device)
    {
        int errno = ns.Run(() =>
        {
            int fd = socket(2, 2, 0);
            if (fd < 0)
                return Marshal.GetLastPInvokeError();
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            uint* value = stackalloc uint[2];
            value[0] = 0x17;
            value[1] = 0;
            byte* request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            Encoding.ASCII.GetBytes(device, new Span<byte>(request, 15));
            *(uint**)(request + 16) = value;
            return ioctl(handle, 0x8946, request) == 0 ? 0 : Marshal.GetLastPInvokeError();
        });
        if (errno != 0)
            throw new IOException($"SIOCETHTOOL on {device} failed: errno {errno}");
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static unsafe partial int ioctl(SafeFileHandle fd, nuint request, void* argument);

    private static void SweepStale()
    {
        foreach (string name in NetworkNamespace.ListNamed())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
                continue;
            string rest = name[Prefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(rest.AsSpan(0, dash), out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                NetworkNamespace.TryDelete(name);
        }
    }

    public void Dispose()
    {
        if (_agent is { } agent)
        {
            try
            {
                if (!agent.HasExited)
                {
                    agent.Kill(entireProcessTree: true);
                    agent.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            agent.Dispose();
        }
        for (int i = _namespaces.Count - 1; i >= 0; i--)
            _namespaces[i].Dispose();
        _dir.Dispose();
    }
}

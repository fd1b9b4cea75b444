using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P3 baseline: Linux nf_conntrack's new-connection rate on this machine. A private network namespace with
/// <c>lo</c> up and an nftables ruleset that counts <c>ct state new</c> in the output hook and drops the datagrams at
/// input (so no ICMP port-unreachable is generated); one thread enters the namespace and sends UDP datagrams with unique
/// 5-tuples (destination 127.1.x.y, port 1–60000) through one socket. Entries are confirmed at postrouting, i.e. fully
/// created and hashed; the rate is the nft counter over the sending time — one core, stack included, as the kernel
/// would carry the first packet of a connection.
/// </summary>
internal static partial class KernelConntrackProbe
{
    private const int CloneNewNet = 0x4000_0000;

    public sealed record Result(double Rate, long Counted, long Sent, double Seconds, string? SkipReason);

    public static Result Measure(int connections)
    {
        if (!OperatingSystem.IsLinux())
            return Skip("not Linux");
        if (Environment.UserName != "root" && geteuid() != 0)
            return Skip("not root: a network namespace and nftables need CAP_NET_ADMIN");
        string? nft = Which("nft");
        if (nft is null)
            return Skip("nft not found (Debian package nftables)");
        string ns = $"offload-bench-{Environment.ProcessId}";
        try
        {
            Run("ip", $"netns add {ns}");
            Run("ip", $"-n {ns} link set lo up");
            const string rules = """
                table inet offload_bench {
                  counter newconns {
                  }
                  chain out {
                    type filter hook output priority 0; policy accept;
                    meta l4proto udp ct state new counter name "newconns"
                  }
                  chain in {
                    type filter hook input priority 0; policy accept;
                    meta l4proto udp drop
                  }
                }
                """;
            string file = Path.Combine(Path.GetTempPath(), $"{ns}.nft");
            File.WriteAllText(file, rules);
            Run("ip", $"netns exec {ns} nft -f {file}");
            File.Delete(file);
            long max = ReadLong("/proc/sys/net/netfilter/nf_conntrack_max");
            if (max > 0 && connections > max * 9 / 10)
                connections = (int)(max * 9 / 10);

            long sent = 0;
            double seconds = 0;
            string? error = null;
            var thread = new Thread(() =>
            {
                try
                {
                    (sent, seconds) = SendInNamespace(ns, connections);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    error = e.Message;
                }
            });
            thread.Start();
            thread.Join();
            if (error is not null)
                return Skip(error);
            string json = Run("ip", $"netns exec {ns} nft -j list counter inet offload_bench newconns");
            var m = Regex.Match(json, "\"packets\":\\s*(\\d+)");
            long counted = m.Success ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            return new Result(counted / seconds, counted, sent, seconds, null);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return Skip(e.Message);
        }
        finally
        {
            try { Run("ip", $"netns del {ns}"); } catch (InvalidOperationException) { }
        }
    }

    private static Result Skip(string reason) => new(0, 0, 0, 0, reason);

    private static unsafe (long Sent, double Seconds) SendInNamespace(string ns, int connections)
    {
        using (var handle = File.OpenHandle($"/run/netns/{ns}"))
        {
            // setns moves only this thread: the socket below is created inside the namespace.
            if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
        }
        int fd = socket(2, 2, 0); // AF_INET, SOCK_DGRAM
        if (fd < 0)
            throw new InvalidOperationException($"socket failed: errno {Marshal.GetLastPInvokeError()}");
        byte* payload = stackalloc byte[18];
        for (int i = 0; i < 18; i++)
            payload[i] = (byte)i;
        SockAddrIn addr = default;
        addr.Family = 2;
        long sent = 0;
        var sw = Stopwatch.StartNew();
        for (int c = 0; c < connections; c++)
        {
            int port = 1 + c % 60000;
            int host = 1 + c / 60000;
            addr.Port = (ushort)((port >> 8) | ((port & 0xFF) << 8));
            // 127.1.0.host in network byte order
            addr.Address = 127u | (1u << 8) | ((uint)(host >> 8) << 16) | ((uint)(host & 0xFF) << 24);
            if (sendto(fd, payload, 18, 0, &addr, 16) == 18)
                sent++;
        }
        double seconds = sw.Elapsed.TotalSeconds;
        close(fd);
        return (sent, seconds);
    }

    private static string? Which(string tool)
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin" })
        {
            if (File.Exists(Path.Combine(dir, tool)))
                return Path.Combine(dir, tool);
        }
        return null;
    }

    private static long ReadLong(string path)
    {
        try
        {
            return long.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args}: exit {p.ExitCode}: {error.Trim()}");
        return output;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrIn
    {
        public ushort Family;
        public ushort Port;
        public uint Address;
        public ulong Zero;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint sendto(int fd, byte* buffer, nint length, int flags, SockAddrIn* address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

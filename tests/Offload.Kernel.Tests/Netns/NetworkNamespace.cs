using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Offload.Kernel.Tests.Netns;

/// <summary>
/// A uniquely named network namespace for one test, deleted on Dispose. Stale namespaces of crashed runs
/// (<c>offload-test-*</c> whose pid is gone) are swept when the first one is created.
/// </summary>
public sealed partial class NetworkNamespace : IDisposable
{
    private const string Prefix = "offload-test-";
    private const int CloneNewNet = 0x4000_0000;
    private static int s_counter;
    private static int s_swept;

    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name (for <c>ip netns exec</c>).</summary>
    public string Name { get; }

    /// <summary>Creates a namespace with <c>lo</c> up.</summary>
    public static NetworkNamespace Create()
    {
        if (Interlocked.Exchange(ref s_swept, 1) == 0)
            SweepStale();
        string name = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        Tool.Run("ip", ["netns", "add", name]);
        var ns = new NetworkNamespace(name);
        try
        {
            Tool.Run("ip", ["-n", name, "link", "set", "lo", "up"]);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>Runs a command inside the namespace and returns its standard output; throws on a non-zero exit.</summary>
    public string Exec(string program, params string[] arguments) =>
        Tool.Run("ip", ["netns", "exec", Name, program, .. arguments]);

    /// <summary>
    /// Runs <paramref name="work"/> on a fresh thread that has entered the namespace. Netlink sockets opened there
    /// stay bound to the namespace and can then be used from any thread.
    /// </summary>
    public T Enter<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{Name}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException($"work inside {Name} failed: {failure.Message}", failure);
        return result;
    }

    /// <inheritdoc />
    public void Dispose() => Tool.TryRun("ip", ["netns", "delete", Name]);

    private static void SweepStale()
    {
        if (!Directory.Exists("/var/run/netns"))
            return;
        foreach (string path in Directory.GetFiles("/var/run/netns", Prefix + "*"))
        {
            string name = Path.GetFileName(path);
            string[] parts = name[Prefix.Length..].Split('-');
            if (parts.Length == 2 && int.TryParse(parts[0], out int pid) && !ProcessExists(pid))
                Tool.TryRun("ip", ["netns", "delete", name]);
        }
    }

    private static bool ProcessExists(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int setns(int fd, int nstype);
}

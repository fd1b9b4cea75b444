using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Offload.Kernel.Namespaces;

/// <summary>
/// A Linux network namespace held open by a file descriptor. <see cref="Run{T}"/> executes work on a fresh thread that
/// has entered the namespace, so sockets and devices created there (netlink, AF_PACKET, TAP) stay bound to it and can
/// then be used from any thread. Named namespaces live as bind mounts under <c>/var/run/netns</c>, the convention of
/// <c>ip netns</c>; <see cref="Create"/> and <see cref="Delete"/> run the <c>ip</c> tool (iproute2) for the mount handling.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    /// <summary>Where named namespaces are mounted (iproute2 convention).</summary>
    public const string NamedRoot = "/var/run/netns";
    private const int CloneNewNet = 0x4000_0000;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC
    private readonly bool _deleteOnDispose;

    private NetworkNamespace(SafeFileHandle handle, string? name, bool deleteOnDispose)
    {
        Handle = handle;
        Name = name;
        _deleteOnDispose = deleteOnDispose;
    }

    /// <summary>The namespace's name under <see cref="NamedRoot"/>, or null for the namespace opened by <see cref="OpenCurrent"/>.</summary>
    public string? Name { get; }

    /// <summary>The namespace file descriptor (for IFLA_NET_NS_FD and setns).</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>Opens the named namespace <c>/var/run/netns/<paramref name="name"/></c>.</summary>
    public static NetworkNamespace Open(string name)
    {
        ValidateName(name);
        return new NetworkNamespace(OpenFile(Path.Combine(NamedRoot, name)), name, deleteOnDispose: false);
    }

    /// <summary>Opens the namespace the calling thread is in.</summary>
    public static NetworkNamespace OpenCurrent() =>
        new(OpenFile("/proc/thread-self/ns/net"), null, deleteOnDispose: false);

    /// <summary>
    /// Creates a named namespace (<c>ip netns add</c>) with its loopback up, and opens it; disposing the result deletes
    /// it (<c>ip netns delete</c>). Fails if the name exists.
    /// </summary>
    public static NetworkNamespace Create(string name)
    {
        ValidateName(name);
        RunIp("netns", "add", name);
        NetworkNamespace ns;
        try
        {
            ns = new NetworkNamespace(OpenFile(Path.Combine(NamedRoot, name)), name, deleteOnDispose: true);
        }
        catch
        {
            TryDelete(name);
            throw;
        }
        try
        {
            RunIp("-n", name, "link", "set", "lo", "up");
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>Deletes a named namespace (<c>ip netns delete</c>); devices in it go when the last user lets go of it.</summary>
    public static void Delete(string name)
    {
        ValidateName(name);
        RunIp("netns", "delete", name);
    }

    /// <summary>Deletes a named namespace if it exists; returns whether it did.</summary>
    public static bool TryDelete(string name)
    {
        if (!File.Exists(Path.Combine(NamedRoot, name)))
            return false;
        try
        {
            RunIp("netns", "delete", name);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The names of the namespaces under <see cref="NamedRoot"/>.</summary>
    public static IReadOnlyList<string> ListNamed()
    {
        if (!Directory.Exists(NamedRoot))
            return [];
        string[] paths = Directory.GetFiles(NamedRoot);
        var names = new string[paths.Length];
        for (int i = 0; i < paths.Length; i++)
            names[i] = Path.GetFileName(paths[i]);
        return names;
    }

    /// <summary>Runs <paramref name="work"/> on a new thread inside this namespace and returns its result; exceptions propagate.</summary>
    public T Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                // A thread, not the process, changes namespace: the caller and the thread pool stay where they are.
                if (Interop.Sys.SetNs(Handle, CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns({Name ?? "current"}) failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "netns " + (Name ?? "current") };
        thread.Start();
        thread.Join();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return result;
    }

    /// <summary>Runs <paramref name="work"/> on a new thread inside this namespace.</summary>
    public void Run(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(() => { work(); return true; });
    }

    /// <summary>Runs <paramref name="work"/> inside <paramref name="ns"/>, or on the calling thread when it is null.</summary>
    public static T RunIn<T>(NetworkNamespace? ns, Func<T> work) => ns is null ? work() : ns.Run(work);

    /// <summary>Closes the descriptor; a namespace made by <see cref="Create"/> is also deleted.</summary>
    public void Dispose()
    {
        if (Handle.IsClosed)
            return;
        Handle.Dispose();
        if (_deleteOnDispose && Name is not null)
            TryDelete(Name);
    }

    /// <inheritdoc />
    public override string ToString() => Name ?? "(current)";

    private static SafeFileHandle OpenFile(string path)
    {
        SafeFileHandle handle = Interop.Sys.Open(path, OpenReadOnlyCloseOnExec);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"open({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        return handle;
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a namespace name.", nameof(name));
    }

    private static void RunIp(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start ip");
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ip {string.Join(' ', arguments)} did not finish in 30 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} exited {process.ExitCode}: {error.Result.Trim()}");
    }
}

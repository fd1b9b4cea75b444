using Product = Offload.Kernel.Namespaces.NetworkNamespace;

namespace Offload.Kernel.Tests.Netns;

/// <summary>
/// A uniquely named network namespace for one test, deleted on Dispose. Stale namespaces of crashed runs
/// (<c>offload-test-*</c> whose pid is gone) are swept when the first one is created. A thin test wrapper over the
/// product's <see cref="Product"/>.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private const string Prefix = "offload-test-";
    private static int s_counter;
    private static int s_swept;

    private NetworkNamespace(Product ns) => Namespace = ns;

    /// <summary>The namespace's name (for <c>ip netns exec</c>).</summary>
    public string Name => Namespace.Name!;

    /// <summary>The product's handle on the namespace (for device and socket factories).</summary>
    public Product Namespace { get; }

    /// <summary>Creates a namespace with <c>lo</c> up.</summary>
    public static NetworkNamespace Create()
    {
        if (Interlocked.Exchange(ref s_swept, 1) == 0)
            StaleNames.Sweep(Prefix);
        return new NetworkNamespace(Product.Create($"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}"));
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
        try
        {
            return Namespace.Run(work);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"work inside {Name} failed: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Namespace.Dispose();
}

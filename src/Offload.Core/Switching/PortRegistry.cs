namespace Offload.Switching;

/// <summary>
/// Stable port numbers for port names. Flows are keyed by port number, so a port keeps its number
/// across policy versions; numbers are never reused within a process. Port 1 is the uplink.
/// </summary>
public sealed class PortRegistry
{
    /// <summary>The uplink's port number.</summary>
    public const ushort Uplink = 1;

    /// <summary>The uplink's name in output.</summary>
    public const string UplinkName = "uplink";

    private readonly object _gate = new();
    private readonly Dictionary<string, ushort> _byName = new(StringComparer.Ordinal) { [UplinkName] = Uplink };
    private readonly string?[] _byNumber = new string?[ushort.MaxValue + 1];
    private ushort _next = Uplink + 1;

    /// <summary>Creates a registry holding the uplink.</summary>
    public PortRegistry() => _byNumber[Uplink] = UplinkName;

    /// <summary>The number of <paramref name="name"/>, assigning the next free one on first use.</summary>
    public ushort GetOrAdd(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (_gate)
        {
            if (_byName.TryGetValue(name, out ushort n))
                return n;
            if (_next == ushort.MaxValue)
                throw new InvalidOperationException("No port numbers left (65,533 ports have been named in this process).");
            n = _next++;
            _byName.Add(name, n);
            _byNumber[n] = name;
            return n;
        }
    }

    /// <summary>The number of a named port.</summary>
    public bool TryGet(string name, out ushort number)
    {
        lock (_gate)
            return _byName.TryGetValue(name, out number);
    }

    /// <summary>The name of a port number, or null.</summary>
    public string? NameOf(ushort number) => Volatile.Read(ref _byNumber[number]);
}

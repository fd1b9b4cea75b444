using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

using Offload.Packets;

namespace Offload.Policy;

/// <summary>
/// A set of L4 ports written like "22", "80,443" or "1000-2000,3000": held as sorted, merged,
/// non-adjacent ranges so that equal sets have equal representations and lookup is a binary search.
/// </summary>
public sealed class PortSet : IEquatable<PortSet>
{
    private readonly ImmutableArray<PortRange> _ranges;

    private PortSet(ImmutableArray<PortRange> ranges) => _ranges = ranges;

    /// <summary>Every port, 0–65535.</summary>
    public static PortSet All { get; } = new([new PortRange(0, ushort.MaxValue)]);

    /// <summary>The ranges, sorted, merged and non-adjacent.</summary>
    public ImmutableArray<PortRange> Ranges => _ranges;

    /// <summary>Lowest port in the set.</summary>
    public ushort Min => _ranges[0].Lo;

    /// <summary>Highest port in the set.</summary>
    public ushort Max => _ranges[^1].Hi;

    /// <summary>Builds a set from any ranges (overlapping, unsorted); at least one range.</summary>
    public static PortSet FromRanges(IEnumerable<PortRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var sorted = ranges.OrderBy(r => r.Lo).ToList();
        if (sorted.Count == 0)
            throw new ArgumentException("A port set needs at least one range.", nameof(ranges));
        var merged = ImmutableArray.CreateBuilder<PortRange>(sorted.Count);
        var current = sorted[0];
        for (int i = 1; i < sorted.Count; i++)
        {
            var next = sorted[i];
            if (next.Lo <= current.Hi + 1)
                current = new PortRange(current.Lo, Math.Max(current.Hi, next.Hi));
            else
            {
                merged.Add(current);
                current = next;
            }
        }
        merged.Add(current);
        return new PortSet(merged.ToImmutable());
    }

    /// <summary>True when <paramref name="port"/> is in the set.</summary>
    public bool Contains(ushort port)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = _ranges[mid];
            if (port < r.Lo)
                hi = mid - 1;
            else if (port > r.Hi)
                lo = mid + 1;
            else
                return true;
        }
        return false;
    }

    /// <summary>True when the two sets share a port.</summary>
    public bool Intersects(PortSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        int i = 0, j = 0;
        while (i < _ranges.Length && j < other._ranges.Length)
        {
            var a = _ranges[i];
            var b = other._ranges[j];
            if (a.Hi < b.Lo)
                i++;
            else if (b.Hi < a.Lo)
                j++;
            else
                return true;
        }
        return false;
    }

    /// <summary>Parses a port list; throws <see cref="FormatException"/> with the reason.</summary>
    public static PortSet Parse(string text) =>
        TryParse(text, out var set, out string? error) ? set : throw new FormatException(error);

    /// <summary>Parses "22", "80,443", "1000-2000,3000" (spaces around items allowed); on failure
    /// <paramref name="error"/> names the bad item.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out PortSet? set, [NotNullWhen(false)] out string? error)
    {
        set = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "expected ports like \"22\", \"80,443\" or \"1000-2000,3000\", got an empty value";
            return false;
        }
        var ranges = new List<PortRange>();
        foreach (string raw in text.Split(','))
        {
            string item = raw.Trim();
            if (item.Length == 0)
            {
                error = $"'{text}' has an empty item (expected ports like \"80,443\")";
                return false;
            }
            int dash = item.IndexOf('-', StringComparison.Ordinal);
            string firstText = dash < 0 ? item : item[..dash].Trim();
            string lastText = dash < 0 ? item : item[(dash + 1)..].Trim();
            if (!TryPort(firstText, out ushort first, out error) || !TryPort(lastText, out ushort last, out error))
                return false;
            if (last < first)
            {
                error = $"range '{item}' is inverted (write {last}-{first})";
                return false;
            }
            ranges.Add(new PortRange(first, last));
        }
        set = FromRanges(ranges);
        error = null;
        return true;
    }

    private static bool TryPort(string text, out ushort port, [NotNullWhen(false)] out string? error)
    {
        port = 0;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            error = $"'{text}' is not a port number";
            return false;
        }
        if (value > ushort.MaxValue)
        {
            error = $"port {value} is out of range (0 to 65535)";
            return false;
        }
        port = (ushort)value;
        error = null;
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(PortSet? other) => other is not null && _ranges.AsSpan().SequenceEqual(other._ranges.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as PortSet);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var r in _ranges)
            h.Add(r);
        return h.ToHashCode();
    }

    /// <summary>The canonical text: "80,443,1000-2000".</summary>
    public override string ToString() => string.Join(",", _ranges.Select(r => r.ToString()));
}

using System.Globalization;

namespace Offload.Policy;

/// <summary>
/// Orders paths as the keys appear in a policy written in the documented key order: list items by index,
/// keys by their place in <see cref="PolicyShapes"/>, unknown keys last, a parent before its children.
/// </summary>
internal sealed class PolicyPathOrder : IComparer<string>
{
    internal static readonly PolicyPathOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
            return 0;
        if (x is null)
            return -1;
        if (y is null)
            return 1;
        var a = Segments(x);
        var b = Segments(y);
        string? shape = PolicyShapes.Root;
        for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var (sa, sb) = (a[i], b[i]);
            if (sa.Index >= 0 || sb.Index >= 0)
            {
                // An index sorts before a key at the same depth; both indices compare by number.
                int c = sa.Index.CompareTo(sb.Index);
                if (c != 0)
                    return sa.Index < 0 ? 1 : sb.Index < 0 ? -1 : c;
                continue;
            }
            int ra = Rank(shape, sa.Key, out string? childA);
            int rb = Rank(shape, sb.Key, out _);
            if (ra != rb)
                return ra.CompareTo(rb);
            if (!string.Equals(sa.Key, sb.Key, StringComparison.Ordinal))
                return string.CompareOrdinal(sa.Key, sb.Key);
            shape = childA;
        }
        return a.Count.CompareTo(b.Count);
    }

    private static int Rank(string? shape, string key, out string? child)
    {
        child = null;
        if (shape is null)
            return int.MaxValue;
        if (PolicyShapes.TryGetKey(shape, key, out var found, out int rank))
            child = found!.Shape;
        return rank;
    }

    private readonly record struct Segment(string Key, int Index);

    private static List<Segment> Segments(string path)
    {
        var list = new List<Segment>();
        foreach (string part in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            int bracket = part.IndexOf('[', StringComparison.Ordinal);
            list.Add(new Segment(bracket < 0 ? part : part[..bracket], -1));
            while (bracket >= 0)
            {
                int close = part.IndexOf(']', bracket);
                if (close < 0 || !int.TryParse(part.AsSpan(bracket + 1, close - bracket - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                    break;
                list.Add(new Segment("", index));
                bracket = part.IndexOf('[', close);
            }
        }
        return list;
    }
}

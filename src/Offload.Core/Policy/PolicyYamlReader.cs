using System.Collections.Frozen;
using System.Globalization;
using Offload.Packets;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Offload.Policy;

/// <summary>
/// Reads typed values out of YAML nodes, recording an error with its path for every problem instead of
/// throwing, and remembering where each path is in the text (to order and locate errors) and which paths
/// failed to read (so validation does not report a second error about a value that was never read).
/// </summary>
internal sealed class PolicyYamlReader
{
    private readonly List<PolicyError> _errors = [];
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Mark> _marks = new(StringComparer.Ordinal);

    internal IReadOnlyList<PolicyError> Errors => _errors;

    internal IReadOnlySet<string> Unreadable => _unreadable;

    internal void Error(string path, YamlNode? node, string message)
    {
        _unreadable.Add(path);
        var mark = node?.Start ?? Locate(path);
        _errors.Add(new PolicyError(path, message) { Line = (int)mark.Line, Column = (int)mark.Column });
    }

    /// <summary>Where <paramref name="path"/>, or its nearest ancestor that exists in the text, starts.</summary>
    internal Mark Locate(string path)
    {
        for (string p = path; ; p = Parent(p))
        {
            if (_marks.TryGetValue(p, out var mark))
                return mark;
            if (p.Length == 0)
                return Mark.Empty;
        }
    }

    internal static string Parent(string path)
    {
        int cut = path.LastIndexOfAny(['.', '[']);
        return cut < 0 ? "" : path[..cut];
    }

    internal void Remember(string path, YamlNode node) => _marks[path] = node.Start;

    /// <summary>Checks a mapping against its shape: every key known, every required key present.</summary>
    internal Fields? Mapping(YamlNode node, string path, string shape)
    {
        Remember(path, node);
        if (node is not YamlMappingNode mapping)
        {
            Error(path, node, $"expected a mapping (key: value), got {Describe(node)}");
            return null;
        }
        var keys = PolicyShapes.All[shape];
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            string child = Join(path, keyNode is YamlScalarNode ks ? ks.Value ?? "" : "?");
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Error(child, keyNode, $"expected a key name, got {Describe(keyNode)}");
                continue;
            }
            Remember(child, value);
            if (!PolicyShapes.TryGetKey(shape, key, out _, out _))
            {
                string? suggestion = Closest(key, keys.Select(k => k.Name));
                Error(child, keyNode, suggestion is not null
                    ? $"unknown key '{key}' (did you mean '{suggestion}'?)"
                    : $"unknown key '{key}' (expected one of: {string.Join(", ", keys.Select(k => k.Name))})");
                continue;
            }
            if (!IsNull(value))
                values[key] = value;
        }
        foreach (var k in keys)
        {
            if (k.Required && !values.ContainsKey(k.Name))
                Error(Join(path, k.Name), null, $"required key '{k.Name}' is missing");
        }
        return new Fields(this, path, values);
    }

    /// <summary>The items of a list, each with its path; an error and no items when the node is not a list.</summary>
    internal IReadOnlyList<(YamlNode Node, string Path)> Sequence(YamlNode node, string path)
    {
        Remember(path, node);
        if (node is not YamlSequenceNode seq)
        {
            Error(path, node, $"expected a list, got {Describe(node)}");
            return [];
        }
        var items = new List<(YamlNode, string)>(seq.Children.Count);
        for (int i = 0; i < seq.Children.Count; i++)
        {
            string p = string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]");
            Remember(p, seq.Children[i]);
            items.Add((seq.Children[i], p));
        }
        return items;
    }

    internal string? Scalar(YamlNode node, string path, string expected)
    {
        if (node is YamlScalarNode { Value: { } v })
            return v;
        Error(path, node, $"expected {expected}, got {Describe(node)}");
        return null;
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    internal static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    internal static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "nothing (null)",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported node",
    };

    /// <summary>The candidate within edit distance 2 of <paramref name="key"/> (case-insensitive), closest first.</summary>
    internal static string? Closest(string key, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = 3;
        foreach (string c in candidates)
        {
            int d = EditDistance(key.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    /// <summary>The present, non-null values of a checked mapping, read by key.</summary>
    internal sealed class Fields(PolicyYamlReader reader, string path, Dictionary<string, YamlNode> values)
    {
        internal string Path => path;

        internal string PathOf(string key) => Join(path, key);

        internal bool Has(string key) => values.ContainsKey(key);

        internal YamlNode? Node(string key) => values.GetValueOrDefault(key);

        internal string? String(string key) =>
            values.TryGetValue(key, out var n) ? reader.Scalar(n, PathOf(key), "a string") : null;

        internal long? Integer(string key, long min = int.MinValue, long max = int.MaxValue)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "an integer") is not { } text)
                return null;
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            {
                reader.Error(PathOf(key), n, $"expected an integer, got '{text}'");
                return null;
            }
            if (v < min || v > max)
            {
                reader.Error(PathOf(key), n, $"must be between {min} and {max} (was {v})");
                return null;
            }
            return v;
        }

        internal double? Number(string key)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "a number") is not { } text)
                return null;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            {
                reader.Error(PathOf(key), n, $"expected a number, got '{text}'");
                return null;
            }
            return v;
        }

        internal NetAddress? Address(string key)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "an IP address") is not { } text)
                return null;
            // IPAddress.TryParse takes "10" or "10.1" as IPv4 shorthand; in a policy that is a typo.
            if (!NetAddress.TryParse(text, out var a) || (a.IsV4 && text.Split('.').Length != 4))
            {
                reader.Error(PathOf(key), n, $"expected an IP address like 10.1.0.1 or 2001:db8::1, got '{text}'");
                return null;
            }
            return a;
        }

        internal MacAddress? Mac(string key)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "a MAC address") is not { } text)
                return null;
            if (!MacAddress.TryParse(text, out var m))
            {
                reader.Error(PathOf(key), n, $"expected a MAC address like \"02:00:00:00:0a:01\" (quoted), got '{text}'");
                return null;
            }
            return m;
        }

        internal Prefix Prefix(string key, bool requireLength)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "a prefix") is not { } text)
                return Policy.Prefix.None;
            if (!Policy.Prefix.TryParse(text, out var p, out string? error))
            {
                reader.Error(PathOf(key), n, error);
                return Policy.Prefix.None;
            }
            if (requireLength && !text.Contains('/', StringComparison.Ordinal))
            {
                reader.Error(PathOf(key), n, $"expected a prefix with a length like 10.1.0.0/16, got '{text}'");
                return Policy.Prefix.None;
            }
            return p;
        }

        internal PortSet? Ports(string key)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "a port list") is not { } text)
                return null;
            if (!PortSet.TryParse(text, out var set, out string? error))
            {
                reader.Error(PathOf(key), n, error);
                return null;
            }
            return set;
        }

        internal T? Enum<T>(string key, FrozenDictionary<string, T> names) where T : struct
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), OneOf(names)) is not { } text)
                return null;
            if (names.TryGetValue(text, out var v))
                return v;
            string? close = Closest(text, names.Keys);
            reader.Error(PathOf(key), n, $"expected {OneOf(names)}, got '{text}'" + (close is null ? "" : $" (did you mean '{close}'?)"));
            return null;
        }

        /// <summary>A protocol name or number; (false, null) when absent or bad, (true, null) for "any".</summary>
        internal (bool Present, byte? Protocol) Protocol(string key)
        {
            if (!values.TryGetValue(key, out var n) || reader.Scalar(n, PathOf(key), "a protocol") is not { } text)
                return (false, null);
            if (PolicyNames.Protocols.TryGetValue(text, out byte? p))
                return (true, p);
            if (byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out byte number))
                return (true, number);
            reader.Error(PathOf(key), n, $"expected tcp, udp, icmp, icmpv6, any or a protocol number 0 to 255, got '{text}'");
            return (false, null);
        }

        internal Fields? Object(string key, string shape) =>
            values.TryGetValue(key, out var n) ? reader.Mapping(n, PathOf(key), shape) : null;

        internal IReadOnlyList<(YamlNode Node, string Path)> List(string key) =>
            values.TryGetValue(key, out var n) ? reader.Sequence(n, PathOf(key)) : [];

        private static string OneOf<T>(FrozenDictionary<string, T> names) =>
            "one of " + string.Join(", ", names.Keys.Order(StringComparer.Ordinal));
    }
}

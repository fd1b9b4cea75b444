using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Offload.Kernel.Nftables;

/// <summary>
/// A libnftables context. Each <see cref="Run"/> buffer is one netlink batch, so the kernel applies all of it or
/// none of it. libnftables talks to the kernel from the calling thread, in that thread's network namespace: create
/// and use a context on a thread inside the namespace it should act on. Not thread-safe.
/// </summary>
public sealed class NftablesContext : IDisposable
{
    private const uint OutputJson = 1u << 4;
    private readonly SafeNftContextHandle _handle;
    private readonly bool _json;

    private NftablesContext(SafeNftContextHandle handle, bool json)
    {
        _handle = handle;
        _json = json;
    }

    /// <summary>Creates a context whose output and errors are captured; JSON output when <paramref name="json"/>.</summary>
    /// <exception cref="PlatformNotSupportedException">libnftables is not installed.</exception>
    public static NftablesContext Create(bool json = false)
    {
        NftablesLibrary.ThrowIfNotSupported();
        SafeNftContextHandle handle = Interop.Nftables.NftCtxNew(0);
        if (handle.IsInvalid)
            throw new OutOfMemoryException("nft_ctx_new failed");
        if (Interop.Nftables.NftCtxBufferOutput(handle) != 0 || Interop.Nftables.NftCtxBufferError(handle) != 0)
        {
            handle.Dispose();
            throw new InvalidOperationException("libnftables could not buffer its output");
        }
        if (json)
            Interop.Nftables.NftCtxOutputSetFlags(handle, OutputJson);
        return new NftablesContext(handle, json);
    }

    /// <summary>
    /// Runs a command buffer (nft syntax, or a JSON document when the context is JSON) and returns what it printed.
    /// </summary>
    /// <exception cref="NftablesException">The buffer was rejected; the message carries libnftables' error text.</exception>
    public unsafe string Run(string commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(commands) + 1];
        Encoding.UTF8.GetBytes(commands, utf8);
        int rc;
        fixed (byte* p = utf8)
            rc = Interop.Nftables.NftRunCmdFromBuffer(_handle, p);
        // Both buffers are reset by the next command, so read them now.
        string output = Marshal.PtrToStringUTF8((nint)Interop.Nftables.NftCtxGetOutputBuffer(_handle)) ?? string.Empty;
        string error = Marshal.PtrToStringUTF8((nint)Interop.Nftables.NftCtxGetErrorBuffer(_handle)) ?? string.Empty;
        if (rc != 0)
            throw new NftablesException(error.Length > 0 ? error : $"nft_run_cmd_from_buffer returned {rc}");
        return output;
    }

    /// <summary>
    /// Reads the counters of a table's rules, by rule comment; rules that share a comment (one policy rule applied in
    /// several chains) are summed, rules without a comment or a counter are left out.
    /// </summary>
    /// <exception cref="NftablesException">The table does not exist.</exception>
    public IReadOnlyDictionary<string, NftablesCounter> ReadRuleCounters(string family, string table)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(table);
        if (!IsWord(family) || !IsWord(table))
            throw new ArgumentException("family and table must be plain nft identifiers");
        string listing;
        if (_json)
        {
            listing = Run($"list table {family} {table}");
        }
        else
        {
            Interop.Nftables.NftCtxOutputSetFlags(_handle, OutputJson);
            try
            {
                listing = Run($"list table {family} {table}");
            }
            finally
            {
                Interop.Nftables.NftCtxOutputSetFlags(_handle, 0);
            }
        }
        return ParseRuleCounters(listing);
    }

    internal static Dictionary<string, NftablesCounter> ParseRuleCounters(string json)
    {
        var counters = new Dictionary<string, NftablesCounter>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("rule", out JsonElement rule)
                || !rule.TryGetProperty("comment", out JsonElement comment)
                || !rule.TryGetProperty("expr", out JsonElement expr))
                continue;
            foreach (JsonElement statement in expr.EnumerateArray())
            {
                if (statement.ValueKind != JsonValueKind.Object || !statement.TryGetProperty("counter", out JsonElement counter)
                    || counter.ValueKind != JsonValueKind.Object)
                    continue;
                string key = comment.GetString() ?? string.Empty;
                NftablesCounter sum = counters.GetValueOrDefault(key);
                counters[key] = new NftablesCounter(sum.Packets + counter.GetProperty("packets").GetInt64(),
                    sum.Bytes + counter.GetProperty("bytes").GetInt64());
            }
        }
        return counters;
    }

    private static bool IsWord(string text)
    {
        if (text.Length == 0)
            return false;
        foreach (char c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
                return false;
        }
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}

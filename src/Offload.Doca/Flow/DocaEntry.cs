using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>
/// A DOCA Flow entry. Not a SafeHandle: entries number in the hundreds of thousands and DOCA frees
/// them itself when their removal completes, so the owner tracks them in its own flow table.
/// </summary>
public readonly unsafe struct DocaEntry : IEquatable<DocaEntry>
{
    private readonly nint _value;

    internal DocaEntry(DocaFlowPipeEntry* entry) => _value = (nint)entry;

    internal DocaFlowPipeEntry* Pointer => (DocaFlowPipeEntry*)_value;

    /// <summary>True for the default value (no entry).</summary>
    public bool IsNone => _value == 0;

    /// <inheritdoc/>
    public bool Equals(DocaEntry other) => _value == other._value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DocaEntry other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value.GetHashCode();

    /// <summary>Equality of the native handle.</summary>
    public static bool operator ==(DocaEntry left, DocaEntry right) => left.Equals(right);

    /// <summary>Inequality of the native handle.</summary>
    public static bool operator !=(DocaEntry left, DocaEntry right) => !left.Equals(right);
}

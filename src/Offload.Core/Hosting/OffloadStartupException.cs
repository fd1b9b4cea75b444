namespace Offload.Hosting;

/// <summary>The hosted switch could not start: bad policy, a selected backend or slow path that is missing or not
/// supported on this host. The message says which and why.</summary>
public sealed class OffloadStartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OffloadStartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public OffloadStartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

namespace Offload.Kernel.Nftables;

/// <summary>libnftables rejected a command buffer; nothing of it was applied.</summary>
public sealed class NftablesException : Exception
{
    /// <summary>Creates the exception with libnftables' error text.</summary>
    public NftablesException(string errorText)
        : base($"nftables rejected the commands: {errorText.Trim()}") => ErrorText = errorText;

    /// <summary>What libnftables wrote to its error buffer (location and reason per error).</summary>
    public string ErrorText { get; }
}

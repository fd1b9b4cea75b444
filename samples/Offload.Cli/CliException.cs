namespace Offload.Cli;

/// <summary>
/// A failure the user can act on (an invalid policy, an unreadable capture): <see cref="Program"/> prints
/// <c>offload: Message</c> as the first stderr line, then <see cref="Details"/>, and exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class CliException(string message, int exitCode = CliException.InvalidInput, IReadOnlyList<string>? details = null)
    : Exception(message)
{
    /// <summary>Exit code for an input file that cannot be used.</summary>
    public const int InvalidInput = 1;

    /// <summary>Exit code for bad command-line arguments.</summary>
    public const int BadArguments = 2;

    public int ExitCode { get; } = exitCode;

    public IReadOnlyList<string> Details { get; } = details ?? [];
}

using Offload.Policy;

namespace Offload.Cli.Replay;

/// <summary>Loads a policy file for a command, turning every problem into a <see cref="CliException"/>.</summary>
internal static class PolicyFile
{
    /// <summary>Loads and validates <paramref name="path"/>; <paramref name="what"/> names it in the error ("policy P.yaml").</summary>
    public static PolicySnapshot Load(string path, string what)
    {
        if (!File.Exists(path))
            throw new CliException($"{what} does not exist.");
        var result = PolicyLoader.LoadFile(path);
        if (result.Snapshot is { } snapshot)
            return snapshot;
        throw Invalid(what, result.Errors);
    }

    /// <summary>The error for an invalid policy: the first problem on the first line, the others after it.</summary>
    public static CliException Invalid(string what, IReadOnlyList<PolicyError> errors)
    {
        var lines = errors.Select(Describe).ToList();
        return new CliException($"{what} is invalid: {lines[0]}", CliException.InvalidInput, lines.Skip(1).ToList());
    }

    /// <summary>"path: message (line L, column C)" — the position only when the loader knows it and the message lacks it.</summary>
    public static string Describe(PolicyError error) =>
        error.Line > 0 && error.Path.Length > 0 ? $"{error} (line {error.Line}, column {error.Column})" : error.ToString();
}

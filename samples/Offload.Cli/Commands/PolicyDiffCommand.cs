using System.CommandLine;
using System.Text.Json;
using LibGit2Sharp;
using Offload.Cli.Agent;
using Offload.Cli.Replay;
using Offload.Policy;
using Offload.Policy.Git;

namespace Offload.Cli.Commands;

/// <summary>
/// <c>offload policy diff A B [--repo R]</c>: what changes between two policies (two files, or two refs of a
/// repository), value by value, and — when an agent is running — what the change to B would do to its live flows.
/// </summary>
internal static class PolicyDiffCommand
{
    public static Command Create()
    {
        var a = new Argument<string>("A") { Description = "The policy before: a file, or a ref of --repo." };
        var b = new Argument<string>("B") { Description = "The policy after: a file, or a ref of --repo." };
        var repo = new Option<string>("--repo") { Description = "A and B are refs (commits, branches, tags) of this repository (path or URL).", HelpName = "R" };
        var policyPath = new Option<string>("--policy-path") { Description = "The policy file's path inside the repository.", DefaultValueFactory = _ => "policy.yaml" };
        var socket = ControlClient.SocketOption();
        var samples = new Option<int>("--samples") { Description = "Affected live connections to list.", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "One JSON object: a, b, changes [{path, before, after}], live (the agent's preview, or null)." };
        var command = new Command("diff",
            "Show what changes from policy A to policy B, value by value; when an agent is running (--socket), also what putting B " +
            "in force would do to its live connections (kept, updated, removed, with examples). Nothing is changed.");
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        command.Options.Add(repo);
        command.Options.Add(policyPath);
        command.Options.Add(socket);
        command.Options.Add(samples);
        command.Options.Add(json);
        command.SetAction(parse => Run(parse.GetValue(a)!, parse.GetValue(b)!, parse.GetValue(repo), parse.GetValue(policyPath)!,
            parse.GetValue(socket)!, Math.Max(0, parse.GetValue(samples)), parse.GetValue(json)));
        return command;
    }

    private static int Run(string a, string b, string? repo, string policyPath, string socket, int samples, bool json)
    {
        PolicySnapshot before, after;
        string labelA, labelB, yamlB;
        if (repo is null)
        {
            before = PolicyFile.Load(a, $"policy {a}");
            after = PolicyFile.Load(b, $"policy {b}");
            (labelA, labelB, yamlB) = (a, b, File.ReadAllText(b));
        }
        else
        {
            using var source = Open(repo, policyPath);
            (labelA, before, _) = Read(source, a);
            (labelB, after, yamlB) = Read(source, b);
        }
        var changes = PolicyDocumentDiff.Compare(before, after);
        JsonElement? live = ControlClient.IsListening(socket)
            ? ControlClient.Send(socket, "policy-preview", w =>
            {
                w.WriteString("yaml", yamlB);
                w.WriteString("label", labelB);
                w.WriteNumber("samples", samples);
            })
            : null;
        if (json)
        {
            WriteJson(labelA, labelB, changes, live);
            return 0;
        }
        var output = Console.Out;
        output.WriteLine($"--- {labelA}");
        output.WriteLine($"+++ {labelB}");
        if (changes.Count == 0)
            output.WriteLine("no change to the policy");
        foreach (var change in changes)
            output.WriteLine($"  {change}");
        if (live is not { } preview)
        {
            output.WriteLine($"live flows: not shown (no agent at {socket})");
            return 0;
        }
        output.WriteLine(
            $"live flows (agent at {socket}): {preview.GetProperty("checked").GetInt32()} connections: {preview.GetProperty("unchanged").GetInt32()} unchanged, " +
            $"{preview.GetProperty("updated").GetInt32()} updated, {preview.GetProperty("removed").GetInt32()} removed; " +
            $"{preview.GetProperty("dropFlowsRemoved").GetInt32()} cached drop flows removed");
        foreach (var s in preview.GetProperty("samples").EnumerateArray())
        {
            output.WriteLine($"  {S(s, "change")} {S(s, "state")} {S(s, "original")}");
            output.WriteLine($"      before: {S(s, "before")}");
            output.WriteLine($"      after:  {S(s, "after")}");
        }
        return 0;
    }

    private static void WriteJson(string labelA, string labelB, IReadOnlyList<PolicyDocumentChange> changes, JsonElement? live)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("a", labelA);
            w.WriteString("b", labelB);
            w.WriteStartArray("changes");
            foreach (var c in changes)
            {
                w.WriteStartObject();
                w.WriteString("path", c.Path);
                w.WriteString("before", c.Before);
                w.WriteString("after", c.After);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("live");
            if (live is { } l)
                l.WriteTo(w);
            else
                w.WriteNullValue();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString() ?? "";

    private static GitPolicySource Open(string repo, string policyPath)
    {
        var options = new GitPolicySourceOptions { Repository = repo, PolicyPath = policyPath };
        string shown = GitPolicyLocation.MaskPassword(repo);
        // An https repository takes its credentials from OFFLOAD_GIT_USERNAME/PASSWORD or OFFLOAD_GIT_CREDENTIALS, as 'offload run' does.
        if (!Directory.Exists(repo))
            options.Credentials = Agent.RunCommand.ResolveCredentials(repo, null, shown);
        using var progress = Directory.Exists(repo) ? null : Progress.Start($"cloning or fetching {shown}");
        try
        {
            return GitPolicySource.Open(options);
        }
        catch (GitPolicyException ex)
        {
            throw new CliException($"--repo {shown}: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--repo {shown}: {ex.Message}", CliException.BadArguments);
        }
    }

    private static (string Label, PolicySnapshot Policy, string Yaml) Read(GitPolicySource source, string reference)
    {
        GitPolicyRevision revision;
        try
        {
            revision = source.Read(reference);
        }
        catch (GitPolicyException ex)
        {
            throw new CliException($"{reference}: {ex.Message}");
        }
        if (revision.Snapshot is not { } snapshot)
        {
            var lines = revision.DescribeErrors();
            throw new CliException($"{reference} ({revision.Commit.ShortSha}) has an invalid policy: {lines[0]}", CliException.InvalidInput, lines.Skip(1).ToList());
        }
        // The document itself, so that an agent following another repository previews exactly this policy.
        using var repository = new Repository(source.LocalPath);
        string yaml = repository.Lookup<Commit>(revision.Commit.Sha)[source.PolicyPath].Target is Blob blob ? blob.GetContentText() : "";
        return ($"{reference} ({revision.Commit})", snapshot, yaml);
    }
}

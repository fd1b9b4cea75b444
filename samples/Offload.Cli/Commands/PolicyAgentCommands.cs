using System.CommandLine;
using System.Text.Json;
using Offload.Cli.Agent;

namespace Offload.Cli.Commands;

/// <summary><c>offload policy status|check|rollback</c>: the running agent's policy, over its control socket.</summary>
internal static class PolicyAgentCommands
{
    public static Command CreateStatus()
    {
        var socket = ControlClient.SocketOption();
        var json = new Option<bool>("--json") { Description = "The agent's status object as JSON." };
        var command = new Command("status", "Show the agent's policy: where it comes from, the commit in force, the last rejected commit with its errors, and the history of commits applied.");
        command.Options.Add(socket);
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            var result = ControlClient.Send(parse.GetValue(socket)!, "policy-status");
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(result.GetRawText());
                return 0;
            }
            WriteStatus(Console.Out, result);
            return 0;
        });
        return command;
    }

    public static Command CreateCheck()
    {
        var socket = ControlClient.SocketOption();
        var command = new Command("check", "Make the agent check its policy source now (as SIGHUP does) and say what happened; exit 1 when the new policy was rejected or the check failed.");
        command.Options.Add(socket);
        command.SetAction(parse => Outcome("check", ControlClient.Send(parse.GetValue(socket)!, "policy-check")));
        return command;
    }

    public static Command CreateRollback()
    {
        var socket = ControlClient.SocketOption();
        var commit = new Argument<string>("COMMIT") { Description = "The commit (id, tag or any ref) whose policy to put back in force." };
        var command = new Command("rollback", "Put the policy of an earlier commit back in force in the running agent; it stays until the followed ref moves again.");
        command.Arguments.Add(commit);
        command.Options.Add(socket);
        command.SetAction(parse =>
        {
            string sha = parse.GetValue(commit)!;
            return Outcome("rollback", ControlClient.Send(parse.GetValue(socket)!, "policy-rollback", w => w.WriteString("commit", sha)));
        });
        return command;
    }

    private static int Outcome(string what, JsonElement r)
    {
        string status = r.GetProperty("status").GetString()!;
        string commit = r.GetProperty("commit").GetString() ?? "";
        string summary = r.GetProperty("summary").GetString() ?? "";
        var errors = r.GetProperty("errors").EnumerateArray().Select(e => e.GetString() ?? "").ToList();
        switch (status)
        {
            case "applied":
                Console.Out.WriteLine($"applied {commit} {summary}: {r.GetProperty("updated").GetInt32()} connections updated, {r.GetProperty("removed").GetInt32()} removed");
                return 0;
            case "unchanged":
                Console.Out.WriteLine("unchanged: the policy in force is current");
                return 0;
            case "rejected":
                string subject = commit.Length > 0 ? $"commit {commit} {summary}" : summary;
                throw new CliException($"{what}: {subject} rejected, the policy in force stays: {errors.FirstOrDefault()}", CliException.InvalidInput, errors.Skip(1).ToList());
            default:
                throw new CliException($"{what} failed: {errors.FirstOrDefault()}");
        }
    }

    private static void WriteStatus(TextWriter output, JsonElement s)
    {
        string source = s.GetProperty("source").GetString()!;
        output.WriteLine(source == "git"
            ? $"policy from git: {s.GetProperty("repository").GetString()} ref {s.GetProperty("ref").GetString()}, file {s.GetProperty("policyPath").GetString()}"
            : $"policy from file: {s.GetProperty("path").GetString()}");
        output.WriteLine($"switch: {s.GetProperty("backend").GetString()} backend, {s.GetProperty("slowPath").GetString()} slow path, policy digest {s.GetProperty("digest").GetString()}");
        var current = s.GetProperty("current");
        output.WriteLine(current.ValueKind == JsonValueKind.Null ? "in force: (nothing recorded yet)" : $"in force: {Entry(current)}");
        var rejected = s.GetProperty("lastRejected");
        if (rejected.ValueKind != JsonValueKind.Null)
        {
            output.WriteLine($"last rejected: {rejected.GetProperty("commit").GetString()} {rejected.GetProperty("summary").GetString()}");
            foreach (var e in rejected.GetProperty("errors").EnumerateArray())
                output.WriteLine($"   {e.GetString()}");
        }
        output.WriteLine("history (newest first):");
        foreach (var e in s.GetProperty("history").EnumerateArray())
            output.WriteLine($"   {Entry(e)}");
    }

    private static string Entry(JsonElement e)
    {
        string what = e.GetProperty("commit").GetString() is { } sha ? $"{sha} {e.GetProperty("summary").GetString()}" : $"digest {e.GetProperty("digest").GetString()}";
        string effect = e.GetProperty("policyChanged").GetBoolean()
            ? $"{e.GetProperty("updated").GetInt32()} updated, {e.GetProperty("removed").GetInt32()} removed"
            : "policy unchanged";
        return $"{e.GetProperty("appliedAt").GetString()} {e.GetProperty("kind").GetString()} {what}: {effect}";
    }
}

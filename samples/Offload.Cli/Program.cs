using System.CommandLine;
using Offload.Cli.Commands;
using Offload.Cli.Demo;

namespace Offload.Cli;

/// <summary>Entry point of the <c>offload</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen command.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("Offload: host virtual switching with a per-connection fast path.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(TraceCommand.Create());
        root.Subcommands.Add(TableCommands.CreateFlows());
        root.Subcommands.Add(TableCommands.CreateConntrack());
        root.Subcommands.Add(TableCommands.CreateStats());
        root.Subcommands.Add(PolicyCommand.Create());
        root.Subcommands.Add(Agent.RunCommand.Create());
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            // One clear line on stderr, non-zero exit (System.CommandLine would print help as well).
            // System.CommandLine lists an option's choices on lines of their own; they are joined into the one line.
            string message = string.Join(' ', result.Errors[0].Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Console.Error.WriteLine($"offload: {message}");
            return CliException.BadArguments;
        }
        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException ex)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"offload: {ex.Message}");
            foreach (string line in ex.Details)
                Console.Error.WriteLine(line);
            return ex.ExitCode;
        }
    }
}

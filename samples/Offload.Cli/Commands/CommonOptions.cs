using System.CommandLine;

namespace Offload.Cli.Commands;

/// <summary>The options shared by the commands that replay a capture.</summary>
internal sealed class ReplayOptions
{
    public Option<string> Policy { get; } = new("--policy")
    {
        Description = "Policy YAML file (see 'offload policy schema').",
        Required = true,
        HelpName = "P.yaml",
    };

    public Option<string> Pcap { get; } = new("--pcap")
    {
        Description = "Classic pcap capture (Ethernet) to replay; the capture's timestamps are the switch's clock.",
        Required = true,
        HelpName = "IN.pcap",
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "JSON output: one object per line.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Policy);
        command.Options.Add(Pcap);
        command.Options.Add(Json);
    }
}

/// <summary>Standard output with a large buffer: a trace can run to millions of lines.</summary>
internal static class Stdout
{
    public static StreamWriter Open() =>
        new(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16) { AutoFlush = false, NewLine = "\n" };
}

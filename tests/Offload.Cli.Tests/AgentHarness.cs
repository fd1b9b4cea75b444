using System.Diagnostics;
using System.Text;
using LibGit2Sharp;

namespace Offload.Cli.Tests;

/// <summary>
/// A policy repository in a temporary folder (commits made with LibGit2Sharp) and an <c>offload run</c> agent
/// process following it, with its own control socket; the agent is killed on dispose whatever happened.
/// </summary>
internal sealed class AgentHarness : IDisposable
{
    private static readonly Signature Author = new("Policy Author", "policy@example.test", DateTimeOffset.UnixEpoch.AddYears(56));
    private readonly TempFolder _dir = new();
    private readonly StringBuilder _log = new();
    private readonly Lock _logLock = new();
    private Process? _agent;

    public AgentHarness()
    {
        Repository.Init(RepositoryPath);
        Capture = _dir.File("in.pcap");
        TestFrames.WritePcap(Capture, TraceCommandTests.Frames());
    }

    public string RepositoryPath => Path.Combine(_dir.Path, "policy-repo");

    public string Socket => Path.Combine(_dir.Path, "run", "agent.sock");

    public string Capture { get; }

    public string TempPath => _dir.Path;

    public Process Agent => _agent ?? throw new InvalidOperationException("no agent started");

    /// <summary>What the agent wrote to stderr so far (its log).</summary>
    public string Log
    {
        get
        {
            lock (_logLock)
                return _log.ToString();
        }
    }

    /// <summary>Commits <paramref name="policy"/> as policy.yaml and returns the commit id.</summary>
    public string Commit(string policy, string message)
    {
        File.WriteAllText(Path.Combine(RepositoryPath, "policy.yaml"), policy);
        using var repo = new Repository(RepositoryPath);
        LibGit2Sharp.Commands.Stage(repo, "policy.yaml");
        return repo.Commit(message, Author, Author).Sha;
    }

    /// <summary>Starts the agent on the repository, replaying the test capture, and waits until it has fed it.</summary>
    public void Start(params string[] extra) => StartWith(RepositoryPath, extra);

    /// <summary>Environment variables set for the agent process (e.g. git credentials).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>How often the agent polls its repository (long by default, so tests decide when it checks).</summary>
    public string Poll { get; set; } = "1h";

    /// <summary>Starts the agent on <paramref name="policy"/> (a file or a repository), replaying the test capture.</summary>
    public void StartWith(string policy, params string[] extra)
    {
        var start = OffloadProcess.StartInfo(["run", "--policy", policy, "--socket", Socket, "--poll", Poll, "--replay", Capture, .. extra]);
        foreach (var (name, value) in Environment)
            start.Environment[name] = value;
        // A restart: the previous agent is gone (a test killed it); its log must not satisfy the new agent's waits.
        _agent?.Dispose();
        lock (_logLock)
            _log.Clear();
        _agent = Process.Start(start)!;
        _agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_logLock)
                    _log.AppendLine(e.Data);
            }
        };
        _agent.OutputDataReceived += (_, _) => { };
        _agent.BeginErrorReadLine();
        _agent.BeginOutputReadLine();
        WaitForLog("frame source replay", "ended");
    }

    /// <summary>Waits until a log line contains all of <paramref name="parts"/>.</summary>
    public void WaitForLog(params string[] parts)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (Log.Split('\n').Any(l => parts.All(p => l.Contains(p, StringComparison.Ordinal))))
                return;
            if (_agent!.HasExited)
                throw new InvalidOperationException($"the agent exited with {_agent.ExitCode}:\n{Log}");
            Thread.Sleep(50);
        }
        throw new TimeoutException($"no log line with [{string.Join(", ", parts)}] within 30 s:\n{Log}");
    }

    /// <summary>Sends a signal to the agent with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, Agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (_agent is { } agent)
        {
            try
            {
                if (!agent.HasExited)
                {
                    agent.Kill(entireProcessTree: true);
                    agent.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            agent.Dispose();
        }
        _dir.Dispose();
    }
}

using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Offload.Cli.Replay;
using Offload.Datapath;
using Offload.Doca;
using Offload.Doca.Hosting;
using Offload.Hosting;
using Offload.Kernel.Hosting;
using Offload.Kernel.PacketIo;
using Offload.Policy;
using Offload.Policy.Git;

namespace Offload.Cli.Agent;

/// <summary><c>offload run</c>: the host agent on the .NET Generic Host.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var policy = new Option<string>("--policy")
        {
            Description = "The policy: a YAML file (re-read on SIGHUP), or a git repository path or URL with an optional @ref " +
                "(followed: polled and checked on SIGHUP; a bad commit is rejected and the last good one stays).",
            Required = true,
            HelpName = "file | repo[@ref]",
        };
        var policyPath = new Option<string>("--policy-path")
        {
            Description = "The policy file's path inside the repository.",
            DefaultValueFactory = _ => "policy.yaml",
        };
        var poll = new Option<string>("--poll")
        {
            Description = "How often the repository is checked for a new commit (e.g. 30s, 500ms, 5m).",
            DefaultValueFactory = _ => "30s",
        };
        var socket = ControlClient.SocketOption();
        var backend = new Option<string>("--backend")
        {
            Description = "Fast-path backend: software, doca, or auto (DOCA when usable, else software).",
            DefaultValueFactory = _ => "software",
        };
        backend.AcceptOnlyFromAmong("software", "doca", "auto");
        var slowPath = new Option<string>("--slow-path")
        {
            Description = "Slow path for first packets: policy (in-process) or kernel (the Linux kernel of the agent's network " +
                "namespace through TAP emulated NICs, nftables and conntrack; needs root and libnftables).",
            DefaultValueFactory = _ => "policy",
        };
        slowPath.AcceptOnlyFromAmong("policy", "kernel");
        var replay = new Option<string>("--replay")
        {
            Description = "Feed this classic pcap (Ethernet) through the switch once at start, to have live flows without devices.",
            HelpName = "IN.pcap",
        };
        var gitCredentials = new Option<string>("--git-credentials")
        {
            Description = "For an https policy repository: a credentials file in git's credential-store format (lines " +
                "https://user:password@host[/path], percent-encoded, mode 0600). OFFLOAD_GIT_USERNAME and OFFLOAD_GIT_PASSWORD " +
                "take precedence; OFFLOAD_GIT_CREDENTIALS names a file when this option does not. ssh URLs use the OpenSSH client " +
                "and its own keys, agent and known_hosts (it must not prompt: e.g. GIT_SSH_COMMAND='ssh -o BatchMode=yes').",
            HelpName = "file",
        };
        var ports = new Option<string[]>("--port")
        {
            Description = "Bind a local port of the policy to the host end of its VM's vNIC (veth or TAP): frames are read from " +
                "and sent to that interface with AF_PACKET sockets. Repeat for each port. Needs root (or CAP_NET_RAW).",
            HelpName = "port=interface",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var uplink = new Option<string>("--uplink")
        {
            Description = "Bind the uplink to the underlay interface: tunnel frames the switch builds leave through it as they are, " +
                "and frames arriving on it enter the switch as uplink traffic. Needs root (or CAP_NET_RAW).",
            HelpName = "interface",
        };
        var devices = new Option<bool>("--devices")
        {
            Description = "Bind every local port that names an 'interface:' in the policy, and the uplink to the policy's " +
                "host.uplink (--port and --uplink override single bindings).",
        };
        var command = new Command("run",
            "Run the host agent: the switch on the Generic Host (Ctrl+C / SIGTERM stop it cleanly), its policy kept current, and a " +
            "control socket that 'offload flows|conntrack|stats|policy' talk to. Frames come from real interfaces (--port, --uplink, " +
            "--devices: one AF_PACKET socket per interface, in the agent's network namespace) and/or a capture (--replay). The VMs " +
            "must hand over finished checksums and no TSO super-frames ('ethtool -K <vNIC> tx off' on the VM side); the host ends " +
            "should carry no address, so the host's own stack leaves their frames to the switch.");
        command.Options.Add(policy);
        command.Options.Add(policyPath);
        command.Options.Add(poll);
        command.Options.Add(socket);
        command.Options.Add(backend);
        command.Options.Add(slowPath);
        command.Options.Add(replay);
        command.Options.Add(gitCredentials);
        command.Options.Add(ports);
        command.Options.Add(uplink);
        command.Options.Add(devices);
        command.SetAction(parse => Run(parse.GetValue(policy)!, parse.GetValue(policyPath)!, ParseInterval(parse.GetValue(poll)!),
            parse.GetValue(socket)!, parse.GetValue(backend)!, parse.GetValue(slowPath)!, parse.GetValue(replay), parse.GetValue(gitCredentials),
            new DeviceRequest(parse.GetValue(ports) ?? [], parse.GetValue(uplink), parse.GetValue(devices))));
        return command;
    }

    /// <summary>"30s", "500ms", "5m", "1h", a bare number of seconds, or a TimeSpan ("00:00:30").</summary>
    public static TimeSpan ParseInterval(string text)
    {
        string t = text.Trim();
        (string digits, double scale) = t.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (t[..^2], 0.001)
            : t.EndsWith('s') ? (t[..^1], 1.0) : t.EndsWith('m') ? (t[..^1], 60.0) : t.EndsWith('h') ? (t[..^1], 3600.0) : (t, 1.0);
        TimeSpan value;
        if (double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && double.IsFinite(n))
            value = TimeSpan.FromSeconds(n * scale);
        else if (!TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out value))
            throw new CliException($"--poll '{text}' is not an interval (e.g. 30s, 500ms, 5m)", CliException.BadArguments);
        if (value < TimeSpan.FromMilliseconds(100) || value > TimeSpan.FromDays(1))
            throw new CliException($"--poll '{text}' must be between 100ms and 24h", CliException.BadArguments);
        return value;
    }

    private sealed record DeviceRequest(IReadOnlyList<string> Ports, string? Uplink, bool FromPolicy);

    private static int Run(string policyArg, string policyPath, TimeSpan poll, string socket, string backendName, string slowPathName, string? replay,
        string? credentialsFile, DeviceRequest devices)
    {
        if (replay is not null && !File.Exists(replay))
            throw new CliException($"capture {replay} does not exist.");
        // Before anything starts: a second agent must not build a switch only to find the socket taken.
        if (ControlClient.IsListening(socket))
            throw new CliException($"another agent is listening on {socket}");
        var backend = backendName switch
        {
            "doca" => OffloadBackendKind.Doca,
            "auto" => OffloadBackendKind.Auto,
            _ => OffloadBackendKind.Software,
        };
        var slowPath = slowPathName == "kernel" ? OffloadSlowPathKind.Kernel : OffloadSlowPathKind.Policy;
        if (slowPath == OffloadSlowPathKind.Kernel && new KernelSlowPathFactory(Options.Create(new KernelHostingOptions())).NotSupportedReason is { } kernelMissing)
            throw new CliException($"the agent could not start: slow path 'kernel' cannot be used: {kernelMissing}");
        // Checked before the host starts, so the reason is offload's one line and not a start-up log as well.
        if (backend == OffloadBackendKind.Doca && DocaLibrary.NotSupportedReason is { } docaMissing)
            throw new CliException($"the agent could not start: backend 'doca' cannot be used: {docaMissing}");
        GitPolicySource? source = null;
        PolicySnapshot initial;
        if (File.Exists(policyArg))
        {
            initial = PolicyFile.Load(policyArg, $"policy {policyArg}");
        }
        else
        {
            source = OpenRepository(policyArg, policyPath, credentialsFile);
            initial = ReadInitial(source);
        }
        try
        {
            var bindings = DeviceBindings.Resolve(devices.Ports, devices.Uplink, devices.FromPolicy, initial);
            return RunHost(policyArg, source, initial, new AgentSettings(socket, poll, replay, bindings), backend, slowPath);
        }
        finally
        {
            source?.Dispose();
        }
    }

    private static GitPolicySource OpenRepository(string given, string policyPath, string? credentialsFile)
    {
        if (!GitPolicyLocation.TryParse(given, out var location, out string? error))
            throw new CliException($"--policy: {GitPolicyLocation.MaskPassword(error ?? "")}", CliException.BadArguments);
        // Messages and logs show the location with any password in the URL masked.
        string text = location.ToString();
        var options = GitPolicySourceOptions.For(location);
        options.PolicyPath = policyPath;
        bool remote = !Directory.Exists(location.Repository);
        if (remote)
            options.Credentials = ResolveCredentials(location.Repository, credentialsFile, text);
        else if (credentialsFile is not null)
            throw new CliException("--git-credentials goes with an https policy repository, not a local one", CliException.BadArguments);
        using var progress = remote ? Progress.Start($"cloning or fetching {GitPolicyLocation.MaskPassword(location.Repository)}") : null;
        try
        {
            return GitPolicySource.Open(options);
        }
        catch (GitPolicyException ex)
        {
            throw new CliException($"policy {text}: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"policy {text}: {ex.Message}", CliException.BadArguments);
        }
    }

    internal static GitCredentials? ResolveCredentials(string url, string? file, string shown)
    {
        try
        {
            return GitCredentials.Resolve(url, file);
        }
        catch (GitPolicyException ex)
        {
            throw new CliException($"policy {shown}: {ex.Message}");
        }
    }

    private static PolicySnapshot ReadInitial(GitPolicySource source)
    {
        GitPolicyRevision revision;
        try
        {
            revision = source.Read();
        }
        catch (GitPolicyException ex)
        {
            source.Dispose();
            throw new CliException($"policy {source.Repository}@{source.DefaultRef}: {ex.Message}");
        }
        if (revision.Snapshot is { } snapshot)
            return snapshot;
        source.Dispose();
        var lines = revision.DescribeErrors();
        throw new CliException($"the policy at commit {revision.Commit.ShortSha} is invalid: {lines[0]}", CliException.InvalidInput, lines.Skip(1).ToList());
    }

    private static int RunHost(string policyArg, GitPolicySource? source, PolicySnapshot initial, AgentSettings settings, OffloadBackendKind backend,
        OffloadSlowPathKind slowPath)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        // A start-up failure is reported once, as offload's one-line error, not again as the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        // Standard output stays free for nothing in particular; every log line goes to stderr, as daemons do.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        builder.Services.AddOffload(o =>
        {
            o.Backend = backend;
            o.SlowPath = slowPath;
            // A file is named so the runtime's log says where the policy came from; a commit's policy is handed over.
            if (source is null)
                o.PolicyFile = policyArg;
            else
                o.Policy = initial;
        }).AddDoca().AddKernelSlowPath();
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<AgentPolicy>(sp =>
        {
            var runtime = sp.GetRequiredService<OffloadRuntime>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Offload.Cli.Agent.Policy");
            return source is not null
                ? new GitAgentPolicy(source, new RuntimePolicyTarget(runtime), settings.PollInterval, logger)
                : new FileAgentPolicy(policyArg, runtime, sp.GetRequiredService<TimeProvider>(), logger);
        });
        builder.Services.AddSingleton<AgentCommands>();
        // The pump's sink is the runtime's frame sink: what the switch forwards leaves through the output port's interface.
        using var pump = settings.Devices.Count > 0 ? new PacketPump() : null;
        builder.Services.AddSingleton(new AgentDevices(pump));
        if (pump is not null)
        {
            builder.Services.AddSingleton(pump.Sink);
            builder.Services.AddSingleton<IFrameSource>(sp =>
                new DeviceFrameSource(pump, settings.Devices, sp.GetRequiredService<ILogger<DeviceFrameSource>>()));
        }
        builder.Services.AddHostedService<PolicyAgentService>();
        builder.Services.AddHostedService<ControlServer>();
        builder.Services.AddHostedService<FrameSourceService>();
        if (settings.ReplayCapture is { } capture)
            builder.Services.AddSingleton<IFrameSource>(new PcapFrameSource(capture));

        using var host = builder.Build();
        try
        {
            host.Run();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new CliException($"the agent could not start: {ex.Message}");
        }
        return 0;
    }
}

using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Hosting;

/// <summary>
/// The hosted switch: builds the datapath for the options (backend, slow path, policy), serialises every call into
/// it — the datapath is driven by one thread at a time, so frames from the application, the poll timer of the
/// hosted service and policy changes take turns — and owns its lifetime. Registered as a singleton by
/// <see cref="OffloadServiceCollectionExtensions.AddOffload"/>; started and stopped by the hosted service.
/// </summary>
public sealed class OffloadRuntime : IDisposable
{
    private readonly Lock _gate = new();
    private readonly IServiceProvider _services;
    private readonly IOptions<OffloadOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ByteCountingSink _sink;
    private readonly PortTraffic _traffic = new();
    private readonly OffloadMetrics _metrics;

    private VirtualSwitch? _switch;
    private Datapath.Datapath? _datapath;
    private SoftwareBackend? _software;
    private bool _ownsSoftware;
    private FlowBackend? _hardware;
    private ISlowPath? _slowPath;
    private IOffloadSlowPathFactory? _slowPathFactory;
    private PortRegistry? _ports;
    private PolicySnapshot? _policy;
    private readonly HashSet<ushort> _declared = new();
    private DatapathStats? _final;

    /// <summary>Creates the runtime (not started). The frame sink is the application's <see cref="IFrameSink"/>
    /// service when one is registered; otherwise results are only counted.</summary>
    public OffloadRuntime(IServiceProvider services, IOptions<OffloadOptions> options, TimeProvider timeProvider,
        ILogger<OffloadRuntime>? logger = null, IMeterFactory? meterFactory = null)
    {
        _services = services ?? throw new ArgumentNullException(nameof(services));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _sink = new ByteCountingSink(services.GetService<IFrameSink>() ?? new DiscardingFrameSink(), _traffic);
        _metrics = new OffloadMetrics(this, meterFactory);
    }

    /// <summary>True between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The fast-path backend in use ("software", "doca"); null before start.</summary>
    public string? BackendName { get; private set; }

    /// <summary>The slow path in use ("policy", "kernel"); null before start.</summary>
    public string? SlowPathName { get; private set; }

    /// <summary>The policy in force (with the options' overrides); null before start.</summary>
    public PolicySnapshot? Policy => _policy;

    /// <summary>Port numbering (names ↔ numbers) of the running switch.</summary>
    public PortRegistry Ports => _ports ?? throw NotRunning();

    /// <summary>The hardware backend created by a registered factory (backend <c>doca</c>, or <c>auto</c> when DOCA was
    /// usable); null with the software backend.</summary>
    public FlowBackend? HardwareBackend => _hardware;

    /// <summary>The meter behind the <c>offload.*</c> instruments.</summary>
    public Meter Meter => _metrics.Meter;

    /// <summary>Builds the switch: loads the policy, resolves backend and slow path, declares ports. Called by the
    /// hosted service; throws <see cref="OffloadStartupException"/> with the reason when it cannot start.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (IsRunning)
                return;
            try
            {
                StartCore();
            }
            catch (OffloadStartupException e)
            {
                OffloadLog.StartFailed(_logger, e.Message);
                DisposeComponents();
                throw;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A factory or component failing in its own way (a native library that will not load, an option the
                // datapath rejects): one exception type for the host to report, the original kept as the cause.
                var failure = new OffloadStartupException($"start-up failed: {e.Message}", e);
                OffloadLog.StartFailed(_logger, failure.Message);
                DisposeComponents();
                throw failure;
            }
            IsRunning = true;
            OffloadLog.Started(_logger, BackendName!, SlowPathName!, _declared.Count > 0 ? _declared.Count : LocalPortCount(_policy!),
                _options.Value.PollInterval.TotalMilliseconds);
        }
    }

    private void StartCore()
    {
        var options = _options.Value;
        string source = options.PolicyFile ?? "code";
        string requested = options.Backend.ToString().ToLowerInvariant();
        string slowPath = options.SlowPath.ToString().ToLowerInvariant();
        OffloadLog.Starting(_logger, requested, slowPath, source);

        _policy = WithOverrides(LoadPolicy(options), options);
        _ports = new PortRegistry();
        var context = new OffloadComponentContext(_services, options, _policy, _ports, _time);

        _hardware = ResolveHardwareBackend(options.Backend, context);
        BackendName = _hardware?.Name ?? "software";
        if (_hardware is not null)
            _hardware.HealthChanged += OnHealthChanged;

        var softwareOptions = new SoftwareBackendOptions { Capacity = options.FlowCapacity, QueueDepth = options.BackendQueueDepth };
        var datapathOptions = new DatapathOptions
        {
            Conntrack = _policy.ToConntrackOptions(),
            Offload = _policy.ToOffloadPolicy(),
            DropFlowIdleTimeout = options.DropFlowIdleTimeout,
            MaxPendingConnections = options.MaxPendingConnections,
            PendingFramesPerConnection = options.PendingFramesPerConnection,
            FragmentCapacity = options.FragmentCapacity,
            MeterCapacity = options.MeterCapacity,
            RevalidationSlice = options.RevalidationSlice,
        };

        if (options.SlowPath == OffloadSlowPathKind.Policy)
        {
            // The hardware backend, when there is one, carries the flows; the switch's software table is its host table.
            _switch = new VirtualSwitch(_policy, _sink, new VirtualSwitchOptions
            {
                Backend = softwareOptions, Datapath = datapathOptions, OffloadBackend = _hardware, Ports = _ports,
            }, _time);
            _datapath = _switch.Datapath;
            _software = _switch.Backend;
            _ports = _switch.Ports;
            SlowPathName = "policy";
        }
        else
        {
            var factory = OffloadOptionsValidator.FindSlowPath(_services.GetServices<IOffloadSlowPathFactory>(), slowPath)
                ?? throw new OffloadStartupException($"slow path '{slowPath}' is selected but no factory for it is registered.");
            if (factory.NotSupportedReason is { } reason)
                throw new OffloadStartupException($"slow path '{slowPath}' is not supported on this host: {reason}");
            _slowPathFactory = factory;
            _slowPath = factory.Create(context) ?? throw new OffloadStartupException($"the '{slowPath}' slow-path factory returned no slow path.");
            factory.ConfigureDatapath(datapathOptions);
            if (_hardware is null)
            {
                _software = new SoftwareBackend(softwareOptions, _time);
                _ownsSoftware = true;
                _datapath = new Datapath.Datapath(datapathOptions, _slowPath, _software, _sink, _time);
            }
            else
            {
                // The host table belongs to the hardware backend (or to the datapath when the backend has none).
                _datapath = new Datapath.Datapath(datapathOptions, _slowPath, _hardware, _sink, _time);
                _software = _datapath.Backend;
            }
            _datapath.AddUplink(PortRegistry.Uplink, PortRegistry.UplinkName);
            DeclarePorts(_policy);
            factory.DatapathCreated(_slowPath, _datapath);
            SlowPathName = factory.Name;
        }
    }

    private PolicySnapshot LoadPolicy(OffloadOptions options)
    {
        if (options.Policy is { } inline)
            return inline;
        string path = options.PolicyFile ?? throw new OffloadStartupException("no policy: set OffloadOptions.PolicyFile or OffloadOptions.Policy.");
        PolicyLoadResult result;
        try
        {
            result = PolicyLoader.LoadFile(path);
        }
        catch (IOException e)
        {
            throw new OffloadStartupException($"policy file '{path}' cannot be read: {e.Message}", e);
        }
        if (result.Snapshot is { } snapshot)
            return snapshot;
        string errors = string.Join("; ", result.Errors);
        OffloadLog.PolicyRejected(_logger, path, result.Errors.Count, errors);
        throw new OffloadStartupException($"policy file '{path}' is invalid: {errors}");
    }

    private static PolicySnapshot WithOverrides(PolicySnapshot policy, OffloadOptions options)
    {
        if (options.MaxConnections is { } max)
            policy = policy with { Conntrack = policy.Conntrack with { MaxEntries = max } };
        if (options.OffloadWhen is { } when)
            policy = policy with { Offload = policy.Offload with { When = when } };
        if (options.OffloadMinPackets is { } minPackets)
            policy = policy with { Offload = policy.Offload with { MinPackets = minPackets } };
        return policy;
    }

    private FlowBackend? ResolveHardwareBackend(OffloadBackendKind kind, OffloadComponentContext context)
    {
        if (kind == OffloadBackendKind.Software)
            return null;
        var factory = OffloadOptionsValidator.Find(_services.GetServices<IOffloadBackendFactory>(), "doca");
        string? reason = factory is null ? "no DOCA backend factory is registered" : factory.NotSupportedReason;
        if (reason is not null)
        {
            if (kind == OffloadBackendKind.Doca)
                throw new OffloadStartupException($"backend 'doca' cannot be used: {reason}.");
            OffloadLog.BackendFallback(_logger, reason);
            return null;
        }
        try
        {
            return factory!.Create(context);
        }
        catch (Exception e) when (kind == OffloadBackendKind.Auto && e is not OutOfMemoryException)
        {
            // auto promises a working switch: a device that fails to open is a reason to fall back, not to stop.
            OffloadLog.BackendFallback(_logger, $"the DOCA backend failed to start: {e.Message}");
            return null;
        }
    }

    private void DeclarePorts(PolicySnapshot policy)
    {
        var now = new HashSet<ushort>();
        foreach (var port in policy.Ports)
        {
            if (!policy.IsLocal(port))
                continue;
            uint vni = 0;
            foreach (var network in policy.Networks)
            {
                if (string.Equals(network.Name, port.Network, StringComparison.Ordinal))
                    vni = (uint)network.Vni;
            }
            ushort number = _ports!.GetOrAdd(port.Name);
            _datapath!.AddPort(number, port.Name, vni);
            // The slow path's programs meter by port number (as the policy slow path's do); the meters live here.
            QosConfig.ApplyTo(_datapath.Meters, number, QosOf(policy, port.Name));
            now.Add(number);
        }
        foreach (ushort gone in _declared)
        {
            if (!now.Contains(gone))
            {
                _datapath!.RemovePort(gone);
                _datapath.Meters.Remove(gone);
            }
        }
        _declared.Clear();
        _declared.UnionWith(now);
    }

    private static QosConfig? QosOf(PolicySnapshot policy, string port)
    {
        foreach (var q in policy.Qos)
        {
            if (string.Equals(q.Port, port, StringComparison.Ordinal))
                return q;
        }
        return null;
    }

    private static int LocalPortCount(PolicySnapshot policy)
    {
        int n = 0;
        foreach (var port in policy.Ports)
            n += policy.IsLocal(port) ? 1 : 0;
        return n;
    }

    private void OnHealthChanged(object? sender, BackendHealthChangedEventArgs e) =>
        OffloadLog.BackendHealthChanged(_logger, (sender as FlowBackend)?.Name ?? "?", e.Previous.ToString(), e.Current.ToString(), e.Reason);

    /// <summary>Processes frames: every frame produces one call of the application's <see cref="IFrameSink"/>.</summary>
    /// <exception cref="InvalidOperationException">The runtime is not running.</exception>
    public void Process(Span<InputFrame> frames)
    {
        lock (_gate)
        {
            if (!IsRunning)
                throw NotRunning();
            foreach (ref readonly var frame in frames)
                _traffic.CountIn(frame.InPort, frame.Buffer.Length);
            _datapath!.Process(frames);
        }
    }

    /// <summary>Housekeeping (pending decisions, conntrack expiry, aging, backend completions); the hosted service
    /// calls it every <see cref="OffloadOptions.PollInterval"/>. Returns the work done; 0 when not running.</summary>
    public int Poll()
    {
        lock (_gate)
            return IsRunning ? _datapath!.Poll() : 0;
    }

    /// <summary>Puts a new policy in force (the options' overrides still apply) and revalidates every tracked
    /// connection (claim S4); returns when revalidation is complete.</summary>
    public RevalidationResult ApplyPolicy(PolicySnapshot policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_gate)
        {
            if (!IsRunning)
                throw NotRunning();
            policy = WithOverrides(policy, _options.Value);
            RevalidationResult result;
            if (_switch is not null)
            {
                result = _switch.ApplyPolicy(policy);
            }
            else
            {
                _slowPathFactory!.ApplyPolicy(_slowPath!, policy);
                DeclarePorts(policy);
                result = _slowPath is IConnectionRevalidator revalidator
                    ? _datapath!.Revalidate(revalidator)
                    : new RevalidationResult(0, 0, 0, 0, TimeSpan.Zero);
            }
            _policy = policy;
            _metrics.RecordRevalidation(result.Elapsed);
            OffloadLog.PolicyApplied(_logger, policy.Digest, result.Checked, result.Updated, result.Removed, result.Elapsed.TotalMilliseconds);
            return result;
        }
    }

    /// <summary>Reports what <see cref="ApplyPolicy"/> with <paramref name="policy"/> would do to the live connections
    /// (<see cref="VirtualSwitch.PreviewPolicy"/>), with frames and housekeeping held off; nothing changes.</summary>
    /// <exception cref="InvalidOperationException">The runtime is not running.</exception>
    /// <exception cref="NotSupportedException">The slow path is not the in-process policy slow path.</exception>
    public PolicyPreview PreviewPolicy(PolicySnapshot policy, int maxSamples = 20)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_gate)
        {
            if (!IsRunning)
                throw NotRunning();
            if (_switch is null)
                throw new NotSupportedException($"a policy preview needs the in-process policy slow path; this switch runs the '{SlowPathName}' slow path.");
            return _switch.PreviewPolicy(WithOverrides(policy, _options.Value), maxSamples);
        }
    }

    /// <summary>A snapshot of the datapath's counters (the last one taken before stop, once stopped).</summary>
    public DatapathStats GetStats()
    {
        lock (_gate)
            return IsRunning ? _datapath!.GetStats() : _final ?? throw NotRunning();
    }

    /// <summary>Frames and bytes in and out of every port that has seen traffic since start (kept after stop), by
    /// port number; the uplink is named <c>uplink</c>.</summary>
    public IReadOnlyList<OffloadPortCounters> GetPortCounters()
    {
        lock (_gate)
            return _traffic.Snapshot(PortNameOf);
    }

    private string? PortNameOf(ushort port) => _ports?.NameOf(port);

    /// <summary>Runs <paramref name="read"/> against the datapath with frames and housekeeping held off — for table
    /// dumps and other control-plane reads.</summary>
    public T Read<T>(Func<Datapath.Datapath, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (_gate)
        {
            if (!IsRunning)
                throw NotRunning();
            return read(_datapath!);
        }
    }

    // For the observable instruments: one consistent reading per collection callback, or null when stopped.
    internal MetricsReading? ReadMetrics()
    {
        lock (_gate)
        {
            if (!IsRunning)
                return null;
            return new MetricsReading(_datapath!.GetStats(), _datapath.Conntrack, _software!, _hardware, _sink.FastPathBytes, _sink.SlowPathBytes,
                _traffic.Snapshot(PortNameOf));
        }
    }

    /// <summary>Stops the switch: no frame is accepted afterwards; the datapath, backends and slow path are disposed.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (!IsRunning)
                return;
            IsRunning = false;
            _final = _datapath!.GetStats();
            DisposeComponents();
            OffloadLog.Stopped(_logger, _final.Frames, _final.FastPathFrames, _final.SlowPathFrames, _final.Dropped);
        }
    }

    private void DisposeComponents()
    {
        if (_switch is not null)
        {
            _switch.Dispose();
        }
        else
        {
            _datapath?.Dispose();
            if (_ownsSoftware)
                _software?.Dispose();
            switch (_slowPath)
            {
                case IDisposable d:
                    d.Dispose();
                    break;
                case IAsyncDisposable ad:
                    ad.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    break;
            }
        }
        if (_hardware is not null)
        {
            _hardware.HealthChanged -= OnHealthChanged;
            _hardware.Dispose();
            _hardware = null;
        }
        _switch = null;
        _datapath = null;
        _software = null;
        _ownsSoftware = false;
        _slowPath = null;
    }

    private static InvalidOperationException NotRunning() => new("The Offload runtime is not running (the host has not started it, or it has stopped).");

    /// <inheritdoc/>
    public void Dispose()
    {
        Stop();
        _metrics.Dispose();
    }
}

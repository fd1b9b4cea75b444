using Offload.Actions;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Backends;

/// <summary>
/// The fast-path backend contract: a place flows are installed into — the software flow table, or a
/// SmartNIC through DOCA Flow. Operations are asynchronous and batched the way hardware queues are:
/// <see cref="TrySubmit"/> queues an operation (or answers <see cref="SubmitStatus.QueueFull"/>:
/// back-pressure, never a silent drop), and the outcome arrives later from <see cref="PollCompletions"/>,
/// together with aging reports. One abstract contract test class runs against every implementation.
/// </summary>
/// <remarks>
/// Threading: submission and polling belong to one control thread at a time (implementations lock);
/// counters may be queried from any thread.
/// </remarks>
public abstract class FlowBackend : IDisposable
{
    private BackendHealth _health = BackendHealth.Healthy;

    /// <summary>Short name ("software", "doca").</summary>
    public abstract string Name { get; }

    /// <summary>What the backend can hold and do.</summary>
    public abstract BackendCapabilities Capabilities { get; }

    /// <summary>Flows currently installed.</summary>
    public abstract int Count { get; }

    /// <summary>Current health.</summary>
    public BackendHealth Health => _health;

    /// <summary>Raised when <see cref="Health"/> changes.</summary>
    public event EventHandler<BackendHealthChangedEventArgs>? HealthChanged;

    /// <summary>
    /// The software table in this process that serves the frames reaching the host — for a hardware backend, the
    /// device's misses — or null when no flow is served in this process. The datapath looks frames up here; flows
    /// held anywhere else are invisible to it, so it keeps their connections alive from <see cref="TryQueryCounters"/>
    /// and the backend's aging reports. The software backend is its own host table.
    /// </summary>
    public virtual Software.SoftwareBackend? HostTable => this as Software.SoftwareBackend;

    /// <summary>Queues one operation. Never blocks.</summary>
    public abstract SubmitStatus TrySubmit(in FlowOperation operation);

    /// <summary>Moves finished operations and aging reports into <paramref name="completions"/>; returns how many.</summary>
    public abstract int PollCompletions(Span<FlowCompletion> completions);

    /// <summary>Reads back a flow's counters.</summary>
    public abstract bool TryQueryCounters(in FlowKey key, out FlowStats stats);

    /// <summary>
    /// Why this backend cannot carry the flow, or null when it can. An unsupported flow stays in
    /// software and this reason is what the datapath reports for it.
    /// </summary>
    public virtual string? GetUnsupportedReason(in FlowKey key, in FlowAction action)
    {
        var caps = Capabilities;
        if (key.IsV4 ? (caps.Match & MatchCapabilities.IPv4) == 0 : (caps.Match & MatchCapabilities.IPv6) == 0)
            return $"{Name} cannot match {(key.IsV4 ? "IPv4" : "IPv6")} flows";
        bool icmp = key.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6;
        if (icmp && (caps.Match & MatchCapabilities.Icmp) == 0)
            return $"{Name} cannot match ICMP flows";
        if (!icmp && key.Protocol is not (IpProtocol.Tcp or IpProtocol.Udp) && (caps.Match & MatchCapabilities.OtherProtocols) == 0)
            return $"{Name} cannot match protocol {key.Protocol}";
        var needed = RequiredCapabilities(action.Program);
        var missing = needed & ~caps.Actions;
        return missing == ActionCapabilities.None ? null : $"{Name} cannot apply {missing}";
    }

    /// <summary>The capabilities an action program needs.</summary>
    public static ActionCapabilities RequiredCapabilities(ActionProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var caps = program.Verdict == ActionVerdict.Drop ? ActionCapabilities.Drop : ActionCapabilities.Output;
        foreach (var op in program.Ops)
        {
            caps |= op.Kind switch
            {
                HeaderOpKind.Decapsulate => ActionCapabilities.Decap,
                HeaderOpKind.SetSourceMac or HeaderOpKind.SetDestinationMac => ActionCapabilities.SetMac,
                HeaderOpKind.Nat => ActionCapabilities.Nat,
                HeaderOpKind.DecrementTtl => ActionCapabilities.DecrementTtl,
                HeaderOpKind.Meter => ActionCapabilities.Meter,
                HeaderOpKind.Encapsulate => op.Template!.Type == TunnelType.Vxlan ? ActionCapabilities.VxlanEncap : ActionCapabilities.GreEncap,
                _ => ActionCapabilities.None,
            };
        }
        return caps;
    }

    /// <summary>
    /// Submits a batch and waits for all of its completions, honouring back-pressure. For control-plane
    /// use by a caller that owns polling; completions that do not answer this batch (aging reports) are
    /// returned as well.
    /// </summary>
    public async Task<IReadOnlyList<FlowCompletion>> ApplyAsync(IReadOnlyList<FlowOperation> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var results = new List<FlowCompletion>(batch.Count);
        var buffer = new FlowCompletion[Math.Max(16, Math.Min(batch.Count, 1024))];
        int answered = 0;
        int next = 0;
        while (answered < batch.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            while (next < batch.Count)
            {
                var status = TrySubmit(batch[next]);
                if (status == SubmitStatus.QueueFull)
                    break;
                if (status == SubmitStatus.Unavailable)
                {
                    results.Add(new FlowCompletion
                    {
                        Kind = batch[next].Kind, Key = batch[next].Key, Cookie = batch[next].Cookie,
                        Status = FlowCompletionStatus.Failed, Detail = $"{Name} backend unavailable ({Health})",
                    });
                    answered++;
                }
                next++;
            }
            int n = PollCompletions(buffer);
            for (int i = 0; i < n; i++)
            {
                results.Add(buffer[i]);
                if (buffer[i].Status != FlowCompletionStatus.Aged)
                    answered++;
            }
            if (n == 0 && answered < batch.Count)
                await WaitForCompletionsAsync(cancellationToken).ConfigureAwait(false);
        }
        return results;
    }

    /// <summary>Waits until completions may be available; hardware backends wait on their device, the default yields.</summary>
    protected virtual ValueTask WaitForCompletionsAsync(CancellationToken cancellationToken) => new(Task.Delay(1, cancellationToken));

    /// <summary>Changes <see cref="Health"/> and raises <see cref="HealthChanged"/>.</summary>
    protected void SetHealth(BackendHealth health, string reason)
    {
        var previous = _health;
        if (previous == health)
            return;
        _health = health;
        HealthChanged?.Invoke(this, new BackendHealthChangedEventArgs(previous, health, reason));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the backend's resources.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}

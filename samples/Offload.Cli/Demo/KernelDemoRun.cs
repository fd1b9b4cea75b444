using System.Globalization;
using System.Runtime.InteropServices;
using Offload.Cli.Output;
using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Demo;

/// <summary>
/// The demo on the real kernel slow path: a <see cref="KernelSwitch"/> (TAP emulated NICs, routes, the generated nftables
/// ruleset, conntrack and NAT of the policy) in a private network namespace <c>offload-demo-&lt;pid&gt;</c> this run
/// creates and removes. Nothing in that namespace is wired to the host, so the generated traffic stays inside it.
/// Time is real: the kernel's conntrack runs on it. Each scenario records what the kernel saw — packets written in,
/// the nft rule counters that moved — so the report can show that first packets went to the kernel and later ones did not.
/// </summary>
internal sealed class KernelDemoRun : DemoRun, IDisposable
{
    public const string NamePrefix = "offload-demo-";
    private const string Owner = "demo";
    // Longer than the adapter's default second: on a loaded machine (tests run in parallel) a late answer would turn
    // into a slow-path-timeout drop in the demo's story. A frame's result always comes by the decision timeout.
    private static readonly TimeSpan DecisionTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ResultWait = TimeSpan.FromSeconds(10);
    private readonly NetworkNamespace _namespace;
    private readonly KernelSwitch _switch;
    private readonly CancellationToken _cancel;
    private readonly SwitchView _view;
    private readonly Dictionary<DemoScenario, Mark> _marks = new();
    private readonly Dictionary<string, NftablesCounter> _replaced = new(StringComparer.Ordinal);
    private bool _disposed;

    private KernelDemoRun(NetworkNamespace ns, PolicySnapshot policy, CancellationToken cancel)
    {
        _namespace = ns;
        _cancel = cancel;
        _switch = new KernelSwitch(policy, Owner, ns, this, new KernelSlowPathOptions { DecisionTimeout = DecisionTimeout }, TimeProvider.System);
        var ports = _switch.Ports;
        _view = new SwitchView(_switch.Datapath, p => p == 0 ? null : ports.NameOf(p));
    }

    /// <summary>The namespace's name (for <c>ip netns</c>).</summary>
    public string NamespaceName => _namespace.Name!;

    /// <summary>Whether the namespace is still mounted under <c>/var/run/netns</c>.</summary>
    public bool NamespaceExists => File.Exists(Path.Combine(NetworkNamespace.NamedRoot, NamespaceName));

    public KernelSwitch Switch => _switch;

    public override SwitchView View => _view;

    public override TimeProvider Clock => TimeProvider.System;

    public override CompiledPolicy Policy => _switch.SlowPath.Policy;

    /// <summary>Creates the namespace and the switch in it; on any failure nothing is left behind.</summary>
    public static KernelDemoRun Start(PolicySnapshot policy, CancellationToken cancel)
    {
        SweepStale();
        var ns = NetworkNamespace.Create(NamePrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            var run = new KernelDemoRun(ns, policy, cancel);
            try
            {
                run.Prepare();
                return run;
            }
            catch
            {
                run.Dispose();
                throw;
            }
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private void Prepare()
    {
        // Per-entry packet counters, so the kernel's own table shows how few packets of each connection reached it.
        // The sysctl exists once the ruleset loaded conntrack into the namespace; it applies to entries made after it.
        _namespace.Run(() => File.WriteAllText("/proc/sys/net/netfilter/nf_conntrack_acct", "1"));
    }

    // A demo killed before its cleanup leaves offload-demo-<pid> behind; the next run removes those whose process is gone.
    private static void SweepStale()
    {
        foreach (string name in NetworkNamespace.ListNamed())
        {
            if (name.StartsWith(NamePrefix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(NamePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                NetworkNamespace.TryDelete(name);
        }
    }

    protected override void Feed(byte[] frame, long cookie, bool sameInstant)
    {
        // Checked per frame, not only while waiting: most frames take the fast path and never wait, and an interrupted
        // run of many connections must stop at once rather than after its traffic (a CI run showed it going on > 60 s).
        _cancel.ThrowIfCancellationRequested();
        // A burst's "same instant" has no meaning on real time: frames go in back to back.
        var input = new InputFrame(PacketBuffer.CopyOf(frame), IngressPortOf(frame), cookie);
        _switch.Process(MemoryMarshal.CreateSpan(ref input, 1));
        long deadline = Environment.TickCount64 + (long)ResultWait.TotalMilliseconds;
        while (!HasResult(cookie))
        {
            _cancel.ThrowIfCancellationRequested();
            if (_switch.Poll() > 0)
                continue;
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"the kernel switch gave no result for a frame within {ResultWait.TotalSeconds} s");
            Thread.Sleep(1);
        }
    }

    public override void Wait(TimeSpan delta)
    {
        long until = Environment.TickCount64 + (long)delta.TotalMilliseconds;
        do
        {
            _cancel.ThrowIfCancellationRequested();
            _switch.Poll();
            Thread.Sleep(5);
        }
        while (Environment.TickCount64 < until);
    }

    public override RevalidationResult ApplyPolicy(PolicySnapshot policy)
    {
        // The new ruleset replaces the table, and its counters start at zero: what the old one counted is carried.
        var before = ReadTable();
        var result = _switch.ApplyPolicy(policy);
        foreach (var (rule, counter) in before)
        {
            _replaced[rule] = _replaced.TryGetValue(rule, out var carried)
                ? new NftablesCounter(carried.Packets + counter.Packets, carried.Bytes + counter.Bytes)
                : counter;
        }
        return result;
    }

    // ---------------- what the kernel saw ----------------

    /// <summary>
    /// The nft rule counters of the demo's table, by rule comment, since the demo started (counts of a ruleset a policy
    /// change replaced included).
    /// </summary>
    public IReadOnlyDictionary<string, NftablesCounter> RuleCounters()
    {
        var total = new Dictionary<string, NftablesCounter>(_replaced, StringComparer.Ordinal);
        foreach (var (rule, counter) in ReadTable())
        {
            total[rule] = total.TryGetValue(rule, out var carried)
                ? new NftablesCounter(carried.Packets + counter.Packets, carried.Bytes + counter.Bytes)
                : counter;
        }
        return total;
    }

    private IReadOnlyDictionary<string, NftablesCounter> ReadTable() => _namespace.Run(() =>
    {
        using var nft = NftablesContext.Create(json: true);
        return nft.ReadRuleCounters(NftablesRulesetGenerator.Family, _switch.Topology.Topology.TableName);
    });

    /// <summary>The kernel's conntrack table in the demo's namespace.</summary>
    public List<KernelConntrackEntry> KernelConntrack() => _namespace.Run(() =>
    {
        using var ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(1));
        return ct.Dump();
    });

    /// <summary>The kernel's entry of one connection (by its original tuple), or null.</summary>
    public KernelConntrackEntry? KernelEntry(ConntrackTuple original) => _namespace.Run(() =>
    {
        using var ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(1));
        return ct.TryGet(original, isReplyTuple: false);
    });

    protected override void OnScenarioStart(DemoScenario scenario) =>
        _marks[scenario] = new Mark(RuleCounters(), _switch.SlowPath.Stats);

    protected override void OnScenarioEnd(DemoScenario scenario)
    {
        if (!_marks.Remove(scenario, out var before))
            return;
        var stats = _switch.SlowPath.Stats;
        long injected = stats.Injected - before.Stats.Injected;
        var moved = Delta(before.Counters, RuleCounters());
        scenario.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"kernel: {injected} packets written in: {stats.Forwarded - before.Stats.Forwarded} forwarded " +
            $"({stats.Verified - before.Stats.Verified} learned actions reproduced the kernel's frame byte for byte, " +
            $"{stats.Mismatches - before.Stats.Mismatches} did not), {stats.Dropped - before.Stats.Dropped} dropped by a logged rule, " +
            $"{stats.TimedOut - before.Stats.TimedOut} unanswered; {scenario.Fast} fast-path frames never reached it"));
        scenario.Notes.Add("nft rule counters moved: " + (moved.Count == 0 ? "none" : string.Join(", ", moved)));
    }

    /// <summary>The rules whose packet counter moved between two readings, as <c>comment +n</c>, most first.</summary>
    public static List<string> Delta(IReadOnlyDictionary<string, NftablesCounter> before, IReadOnlyDictionary<string, NftablesCounter> after) =>
        after.Select(a => (a.Key, Moved: a.Value.Packets - (before.TryGetValue(a.Key, out var b) ? b.Packets : 0)))
            .Where(x => x.Moved != 0)
            .OrderByDescending(x => x.Moved).ThenBy(x => x.Key, StringComparer.Ordinal)
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Key} +{x.Moved}"))
            .ToList();

    /// <summary>Stops the switch, removes its devices and ruleset, then the namespace.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            _switch.Dispose();
        }
        finally
        {
            _namespace.Dispose();
        }
    }

    private sealed record Mark(IReadOnlyDictionary<string, NftablesCounter> Counters, KernelSlowPathStats Stats);
}
